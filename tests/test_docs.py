"""The documentation: the README is a front door (short, narrow lines, the citation held to
pyproject.toml), and the Sphinx site in docs/ builds with warnings as errors, so a broken link or
reference fails the suite. The notebooks are rendered as committed, never executed here
(tests/test_notebooks.py runs them)."""

import re
import subprocess
import sys
import tomllib

from conftest import REPO

README = (REPO / 'README.md').read_text()
PYPROJECT = tomllib.loads((REPO / 'pyproject.toml').read_text())


def test_the_readme_is_a_front_door():
  lines = README.splitlines()
  assert len(lines) <= 250, f'README.md has {len(lines)} lines; more than 250: move the rest into docs/'
  long = [(n, len(line)) for n, line in enumerate(lines, 1) if len(line) > 200]
  assert not long, f'README.md lines over 200 characters (line, length): {long}'


def test_the_readme_holds_the_generated_headline_block_once():
  begin = '<!-- generated:headline begin (python -m textcls_jax.results; do not edit) -->'
  end = '<!-- generated:headline end -->'
  assert README.count(begin) == 1 and README.count(end) == 1
  assert README.index(begin) < README.index(end)


def test_the_citation_names_this_release_and_its_home():
  bibtex = re.search(r'```bibtex\n(.*?)```', README, re.S).group(1)
  fields = dict(re.findall(r'^\s*(\w+)\s*=\s*\{(.*)\},?$', bibtex, re.M))
  assert fields['version'] == PYPROJECT['project']['version']
  assert fields['url'] == PYPROJECT['project']['urls']['Repository']


def test_the_docs_build_with_warnings_as_errors(tmp_path):
  out = tmp_path / 'html'
  build = subprocess.run(
      [sys.executable, '-m', 'sphinx', '-W', '--keep-going', '-b', 'html', '-q',
       '-d', str(tmp_path / 'doctrees'), str(REPO / 'docs'), str(out)],
      cwd=REPO, capture_output=True, text=True, timeout=300)
  assert build.returncode == 0, f'sphinx-build failed:\n{build.stderr[-6000:]}'
  assert (out / 'index.html').exists()
  for name in ('quickstart', 'pretrain_then_finetune', 'reproduce_and_scale', 'published_encoder'):
    page = out / '_notebooks' / f'{name}.html'
    assert page.exists(), f'the notebook colab/{name}.ipynb was not rendered'
  for guide in ('data', 'configs_and_reproduction', 'pretraining', 'devices_and_hosts',
                'reliability', 'speed'):
    assert (out / 'guides' / f'{guide}.html').exists()
  for results in ('reproduction', 'pretraining', 'runs', 'speed'):
    assert (out / 'results' / f'{results}.html').exists()
