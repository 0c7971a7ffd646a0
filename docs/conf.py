"""Sphinx configuration of the textcls-jax documentation (MyST Markdown, notebooks through myst-nb).

Build (what tests/test_docs.py runs, warnings as errors):
  .venv/bin/python -m sphinx -W --keep-going -b html docs docs/_build/html

The notebooks live in colab/ (their Colab badges and the notebook tests use those paths); each build
copies the .ipynb into docs/_notebooks/ (git-ignored) and renders them as committed, never executing
them (`nb_execution_mode = 'off'`).
"""

import os
import pathlib
import shutil
import tomllib

DOCS = pathlib.Path(__file__).resolve().parent
REPO = DOCS.parent
PYPROJECT = tomllib.loads((REPO / 'pyproject.toml').read_text())
REPOSITORY = PYPROJECT['project']['urls']['Repository']


def _copy_notebooks() -> None:
  """colab/NAME.ipynb -> docs/_notebooks/NAME.ipynb, written only when it differs (an unchanged
  notebook keeps its mtime, so an incremental build does not read it again)."""
  target = DOCS / '_notebooks'
  target.mkdir(exist_ok=True)
  sources = {p.name: p for p in (REPO / 'colab').glob('*.ipynb')}
  for stale in target.glob('*.ipynb'):
    if stale.name not in sources:
      stale.unlink()
  for name, source in sources.items():
    copy = target / name
    if not copy.exists() or copy.read_bytes() != source.read_bytes():
      partial = copy.with_name(f'.{name}.{os.getpid()}')
      shutil.copyfile(source, partial)
      os.replace(partial, copy)  # Whole or not at all, should two builds run at once.


_copy_notebooks()

project = 'textcls-jax'
author = 'The textcls-jax authors'
copyright = '2026, ' + author
release = PYPROJECT['project']['version']
version = release

extensions = ['myst_nb']  # myst-nb brings myst-parser: Markdown pages and .ipynb alike.
exclude_patterns = ['_build', '**.ipynb_checkpoints', 'Thumbs.db', '.DS_Store']

myst_enable_extensions = ['colon_fence', 'deflist']
myst_heading_anchors = 3
# Files of the repository outside docs/ (configs, tests, benchmarks) are linked as
# [configs/tapt.py](gh:configs/tapt.py): a link to the file on GitHub, never a broken reference.
myst_url_schemes = {
    'http': None,
    'https': None,
    'mailto': None,
    'gh': {'url': REPOSITORY + '/blob/main/{{path}}', 'title': '{{path}}',
           'classes': ['github']},
}

nb_execution_mode = 'off'  # The suite runs the notebooks (tests/test_notebooks.py); the site shows them.

html_theme = 'sphinx_book_theme'
html_title = 'textcls-jax'
html_theme_options = {
    'repository_url': REPOSITORY,
    'repository_branch': 'main',
    'path_to_docs': 'docs',
    'use_repository_button': True,
    'use_issues_button': True,
    'show_toc_level': 2,
}
