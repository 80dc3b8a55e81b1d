"""Sphinx configuration of the sklearn-icc documentation.

Build with ``make docs`` (``sphinx-build -W -b html docs docs/_build/html``). The API
pages are generated into ``docs/generated/`` and the gallery (``examples/``) into
``docs/auto_examples/`` at build time; ``SKLEARN_ICC_DOCS_PLOT_GALLERY=0`` builds the
gallery pages without running the examples. No extension here needs the network.
"""

import os
import sys

# The package is installed editable by `make setup`; the path makes a plain checkout work too.
sys.path.insert(0, os.path.abspath(".."))
sys.path.insert(0, os.path.abspath("sphinxext"))

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
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.md5", "auto_examples/*.codeobj.json"]
root_doc = "index"

# API reference: one stub page per object, written into generated/.
autosummary_generate = True
autodoc_typehints = "none"  # the numpydoc sections already give the types
autodoc_member_order = "bysource"

# numpydoc would list every member again next to autodoc's own entries.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# The examples run on the default model, on a few small episodes each (a few minutes in
# all on a CPU); each one's figure comes from matplotlib.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "plot_gallery": os.environ.get("SKLEARN_ICC_DOCS_PLOT_GALLERY", "True"),
    "abort_on_example_error": True,
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "download_all_examples": False,
    "show_memory": False,
    "remove_config_comments": True,
    "within_subsection_order": "gallery_order.ExampleOrder",
}

# scikit-learn's theme. Everything it would fetch (fonts, icons) is bundled with it.
html_theme = "pydata_sphinx_theme"
html_title = f"sklearn-icc {release}"
html_theme_options = {
    "navbar_align": "left",
    "header_links_before_dropdown": 6,
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"install": [], "what_works": []}
