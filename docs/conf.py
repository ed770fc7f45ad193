"""Sphinx configuration for the forecast docs.

Build (warnings are errors, as in CI)::

    .venv/bin/python -m sphinx -W -b html docs docs/_build/html

Notebooks are rendered from their stored outputs (``nb_execution_mode = "off"``);
``tests/test_notebooks.py`` executes them, so the stored outputs are ones a run made.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import forecast  # noqa: E402

project = "forecast"
author = "the forecast developers"
copyright = "2026, the forecast developers"
release = forecast.__version__
version = release

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
]
# MathJax from the docs' own static files when sphinx-mathjax-offline is installed (so the
# docs read offline too); from the MathJax CDN otherwise.
if importlib.util.find_spec("sphinx-mathjax-offline") is not None:
    extensions.append("sphinx-mathjax-offline")

# Nothing is executed while building: notebooks show the outputs stored by their last run.
nb_execution_mode = "off"
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**.ipynb_checkpoints", "Thumbs.db", ".DS_Store", "cli-reference.md"]

autodoc_default_options = {"members": True, "member-order": "bysource", "show-inheritance": False}
autodoc_typehints = "description"
autodoc_class_signature = "separated"
autosummary_generate = False
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False
napoleon_use_ivar = True
napoleon_preprocess_types = False

html_theme = "pydata_sphinx_theme"
html_title = f"forecast {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "header_links_before_dropdown": 4,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
# The top bar already lists every page; an empty left sidebar only narrows the text.
html_sidebars = {"**": []}
html_static_path: list[str] = []
