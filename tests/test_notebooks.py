"""The Colab notebooks in colab/: each jupytext pair in sync, each opening with its badge and the one
setup cell pinned to pyproject.toml, and each executed top to bottom (papermill, a real Jupyter
kernel) with few steps on small local data in a temporary workdir."""

import pathlib
import re
import tomllib

import jupytext
import nbformat
import papermill
import pytest

from conftest import REPO, make_corpus

COLAB = REPO / 'colab'
NOTEBOOKS = ('quickstart', 'pretrain_then_finetune', 'reproduce_and_scale', 'published_encoder')
PYPROJECT = tomllib.loads((REPO / 'pyproject.toml').read_text())


def _cells(notebook):
  return [(c.cell_type, c.source, c.metadata.get('tags', [])) for c in notebook.cells]


def test_colab_holds_the_notebooks_as_jupytext_pairs():
  assert sorted(p.stem for p in COLAB.glob('*.py')) == sorted(NOTEBOOKS)
  assert sorted(p.stem for p in COLAB.glob('*.ipynb')) == sorted(NOTEBOOKS)


@pytest.mark.parametrize('name', NOTEBOOKS)
def test_the_ipynb_is_its_py_source_without_outputs(name):
  """The .py is what a reviewer reads; the .ipynb (what the badge opens) must say the same.
  After editing the .py: jupytext --sync colab/NAME.py"""
  source = jupytext.read(COLAB / f'{name}.py')
  notebook = nbformat.read(COLAB / f'{name}.ipynb', as_version=4)
  assert _cells(notebook) == _cells(source), f'colab/{name}.ipynb is out of date: jupytext --sync colab/{name}.py'
  code = [c for c in notebook.cells if c.cell_type == 'code']
  assert all(not c.outputs and c.execution_count is None for c in code), 'commit it without outputs'


def _setup_cell(notebook):
  return next(c.source for c in notebook.cells
              if c.cell_type == 'code' and "'google.colab' in sys.modules" in c.source)


@pytest.mark.parametrize('name', NOTEBOOKS)
def test_each_notebook_opens_with_its_badge_and_the_pinned_setup(name):
  notebook = jupytext.read(COLAB / f'{name}.py')
  repository = PYPROJECT['project']['urls']['Repository']
  owner_repo = repository.removeprefix('https://github.com/')
  badge = (f'[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]'
           f'(https://colab.research.google.com/github/{owner_repo}/blob/main/colab/{name}.ipynb)')
  assert notebook.cells[0].cell_type == 'markdown' and notebook.cells[0].source.startswith(badge)
  setup = _setup_cell(notebook)
  jax_pin = next(d for d in PYPROJECT['project']['dependencies'] if d.startswith('jax=='))
  assert f"VERSION = '{PYPROJECT['project']['version']}'" in setup
  assert f"JAX_VERSION = '{jax_pin.removeprefix('jax==')}'" in setup
  assert f"REPOSITORY = '{repository}'" in setup
  # One setup for all: the same cell in every notebook.
  assert setup == _setup_cell(jupytext.read(COLAB / f'{NOTEBOOKS[0]}.py'))


def _run(name, tmp_path, **parameters):
  """Executes colab/NAME.ipynb from the repository root; returns (what it printed and logged, the
  number of images it displayed). A cell that raises fails the test (PapermillExecutionError)."""
  out = tmp_path / f'{name}.ipynb'
  papermill.execute_notebook(str(COLAB / f'{name}.ipynb'), str(out), parameters=parameters,
                             cwd=str(REPO), progress_bar=False, kernel_name='python3')
  executed = nbformat.read(out, as_version=4)
  outputs = [o for c in executed.cells if c.cell_type == 'code' for o in c.outputs]
  text = ''.join(o.text for o in outputs if o.output_type == 'stream')  # stdout and the log.
  images = sum('image/png' in o.get('data', {}) for o in outputs)
  return text, images


def _small(data_dir, **more):
  """Overrides that make a config's run small: the local sentiment TSVs, a tiny tokenizer."""
  return {'data.source': f'tsv:{data_dir}', 'data.eval_split': 'dev', 'tokenizer.vocab_size': 60,
          'data.max_len': 16, **more}


def test_quickstart_runs(data_dir, tmp_path):
  text, images = _run('quickstart', tmp_path, NUM_STEPS=30, WORKDIR=str(tmp_path / 'run'),
                      OVERRIDES=_small(data_dir))
  assert re.search(r'dev accuracy 0\.\d+, macro-F1', text)
  assert re.search(r'step 30: \d+ of 100 dev sentences misclassified', text)
  assert 'a gorgeous , witty , seductive movie .' in text
  assert images == 2  # The curves and the confusion matrix.
  assert (tmp_path / 'run' / 'plots' / 'confusion.png').exists()


def test_pretrain_then_finetune_runs(data_dir, tmp_path):
  corpus = tmp_path / 'corpus.txt'
  corpus.write_text('\n'.join(make_corpus(2000, seed=7)) + '\n')
  work = tmp_path / 'runs'
  text, images = _run('pretrain_then_finetune', tmp_path, PRETRAIN_STEPS=30, FINETUNE_STEPS=30,
                      WORKDIR=str(work), CORPUS=[f'text:{corpus}'],
                      OVERRIDES=_small(data_dir, **{'data.seq_len': 32, 'eval.max_batches': 2}))
  assert re.search(r'held-out perplexity \d+\.\d', text)
  assert re.search(r'from scratch: dev accuracy 0\.\d+', text)
  assert re.search(r'pretrained: dev accuracy 0\.\d+', text)
  assert images == 2  # The pretraining curves and the comparison.
  assert (work / 'comparison.png').exists()
  assert (work / 'sst2_cnn_pretrained' / 'config.json').read_text().count(str(work / 'pretrain_cnn'))


def test_reproduce_and_scale_runs(data_dir, tmp_path):
  steps = 30
  text, images = _run('reproduce_and_scale', tmp_path, NUM_STEPS=steps, WORKDIR=str(tmp_path / 'runs'),
                      OVERRIDES=_small(data_dir, **{'train.batch_size': 16,
                                                    'train.log_every_steps': 5,
                                                    'checkpoint.every_steps': 15}))
  assert '8 devices:' in text
  assert 'refused: model.dropout=1.5 is not allowed' in text
  assert re.search(r' jit: dev accuracy .*\npmap: dev accuracy ', text)
  stopped = re.search(r'Stopped by SIGINT at step (\d+); checkpoint saved', text)
  assert stopped and int(stopped[1]) < steps, text
  assert f'stopped at step {stopped[1]} of {steps}' in text
  assert f'Resuming from step {stopped[1]}' in text
  assert 'The same last dev evaluation as the uninterrupted run: True' in text
  assert images == 1


def test_published_encoder_runs(data_dir, tmp_path):
  pytest.importorskip('transformers')
  from test_published_encoder import VOCAB, _save_bert  # A tiny random-weight BertModel folder.
  source = _save_bert(tmp_path / 'bert')
  work = tmp_path / 'run'
  # Not _small's tokenizer size: the tokenizer is the checkpoint's WordPiece vocabulary.
  text, images = _run('published_encoder', tmp_path, INIT_FROM=source, NUM_STEPS=20,
                      WORKDIR=str(work),
                      OVERRIDES={'data.source': f'tsv:{data_dir}', 'data.eval_split': 'dev',
                                 'data.max_len': 16, 'train.batch_size': 16})
  assert re.search(r'2 layers x 32 wide, 4 heads, MLP 64, 64 positions; WordPiece vocabulary of '
                   rf'{len(VOCAB)}; 0\.\d M parameters', text), text
  cls, sep = VOCAB.index('[CLS]'), VOCAB.index('[SEP]')
  assert re.search(rf'^\[CLS\]:{cls} .* \[SEP\]:{sep}$', text, re.M), text
  keys = re.search(r'^model keys set from the checkpoint: (.*)$', text, re.M)[1]
  assert "'hidden_dim': 32" in keys and "'num_layers': 2" in keys and "'max_len': 64" in keys
  assert re.search(r'dev accuracy [01]\.\d{4}, macro-F1 [01]\.\d{4} over 100 sentences', text)
  assert 'step 20:' in text
  for sentence in ('A gorgeous, witty, seductive movie!',
                   "I didn't expect much, and it still disappointed me."):
    assert re.search(rf'^ +(neg|pos) \{{.*\}}  {re.escape(sentence)}$', text, re.M), text
  assert images == 1  # The learning curves.
  assert (work / 'tokenizer' / 'vocab.txt').read_text().split('\n')[:-1] == VOCAB
