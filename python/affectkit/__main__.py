"""``python -m affectkit`` / ``affectkit``: the command line (see :mod:`affectkit.cli`).

The main job, ``affectkit demo`` (also what runs with no arguments), evaluates
affectkit's baseline features with a linear and a kNN probe on leave-one-speaker-out
folds of the bundled demo corpus and writes a report into ./affectkit-demo.
"""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
