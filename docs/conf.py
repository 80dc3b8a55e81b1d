"""Sphinx configuration of the sklearn-icc documentation.

Build with ``make docs`` (``sphinx-build -W -b html docs docs/_build/html``). The API
pages are generated into ``docs/generated/`` at build time. No extension here needs
the network.
"""

import os
import sys

# The package is installed editable by `make setup`; the path makes a plain checkout work too.
sys.path.insert(0, os.path.abspath(".."))

import sklearn_icc  # noqa: E402  (importing it loads no model)

project = "sklearn-icc"
author = "the sklearn-icc developers"
copyright = "2025, the sklearn-icc developers"
release = sklearn_icc.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
root_doc = "index"

# API reference: one stub page per object, written into generated/.
autosummary_generate = True
autodoc_typehints = "none"  # the numpydoc sections already give the types
autodoc_member_order = "bysource"

# numpydoc would list every member again next to autodoc's own entries.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

html_theme = "alabaster"
html_title = f"sklearn-icc {release}"
