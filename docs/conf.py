"""Sphinx configuration of the affectkit documentation site.

Markdown pages (myst-parser), the API reference from the installed package's numpy-style
docstrings (autodoc + napoleon). Built with warnings as errors: ``make docs``.
"""

from importlib import metadata

project = "affectkit"
author = "affectkit developers"
copyright = "affectkit developers, GPL-2.0-or-later"
release = metadata.version("affectkit")  # the installed copy: autodoc documents what is installed
version = release

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

myst_heading_anchors = 3  # links to sections of a page: [text](egemaps.md#speed)
myst_enable_extensions = ["dollarmath"]

napoleon_google_docstring = False
napoleon_numpy_docstring = True
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_typehints = "signature"

html_theme = "alabaster"
html_title = f"affectkit {release}"
html_theme_options = {"description": "Fast, reference-exact speech-emotion and paralinguistic research tools",
                      "fixed_sidebar": True}
