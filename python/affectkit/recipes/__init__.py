"""Experiment recipes: whole studies as one function call, on the bundled demo corpus or
your own data (see each module). They import torch; ``import affectkit`` does not."""

__all__ = ["fusion"]
