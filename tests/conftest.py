"""Shared fixtures. Environment settings go first: TensorFlow imports JAX, so both read them early."""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
# One compilation cache for the whole session, its subprocesses included (the same programs
# compile once), and none in the user's own ~/.cache.
import tempfile  # noqa: E402
os.environ.setdefault('TEXTCLS_JAX_COMPILATION_CACHE', tempfile.mkdtemp(prefix='textcls-jax-test-cache-'))

# Compiling is most of this suite's time on 2 CPU cores. XLA's backend optimizations (LLVM's
# expensive passes, the backend's optimization level) change how fast a program runs, not what it
# computes; off, the suite's compiles take about half as long. Subprocesses inherit the flags.
FAST_COMPILE_FLAGS = '--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true'
os.environ['XLA_FLAGS'] = f"{os.environ.get('XLA_FLAGS', '')} {FAST_COMPILE_FLAGS}".strip()

import pathlib
import random

import pytest

from gcs_emulator import gcs_env  # noqa: F401 (a fixture: a GCS emulator on 127.0.0.1)

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / 'shared' / 'data'


@pytest.fixture(scope='session')
def shared_data():
  """../shared/data beside the repository, or a skip when this machine does not have it."""
  if not (SHARED_DATA / 'sst2' / 'train.tsv').exists():
    pytest.skip(f'real data not found at {SHARED_DATA} (only on the project machines)')
  return SHARED_DATA


def shipped_config_specs() -> list[str]:
  """Every shipped config as --config takes it: `configs/NAME.py`, and `configs/NAME.py:VARIANT`
  for each variant the file lists in VARIANTS (config_base.check_variant)."""
  import ast
  specs = []
  for path in sorted((REPO / 'configs').glob('*.py')):
    variants = ('',)
    for node in ast.parse(path.read_text()).body:
      if isinstance(node, ast.Assign) and [t.id for t in node.targets] == ['VARIANTS']:
        variants = ast.literal_eval(node.value)
    specs += [f'{path}:{v}' if v else str(path) for v in variants]
  return specs


def make_corpus(n: int = 400, seed: int = 0) -> list[str]:
  """Short synthetic sentences for training tiny tokenizers."""
  import random
  rng = random.Random(seed)
  words = ('good great fine bad awful poor film movie plot actor scene story very not quite the a '
           'and but it is was').split()
  return [' '.join(rng.choice(words) for _ in range(rng.randint(1, 12))) for _ in range(n)]


@pytest.fixture(scope='session')
def tiny_tokenizer(tmp_path_factory):
  from textcls_jax.data import tokenizer as tok
  path = tmp_path_factory.mktemp('tok') / 'spm.model'
  tok.train_sentencepiece(make_corpus(), str(path), vocab_size=60)
  return tok.SentencePieceTokenizer(str(path))


POS = 'good great fine lovely superb'.split()
NEG = 'bad awful poor dull weak'.split()
FILLER = 'the film movie plot was is a and it story'.split()


def write_sentiment_tsv(path, n, seed):
  """A TSV (sentence, label) of short sentences whose label is set by one pos/neg word."""
  rng = random.Random(seed)
  lines = ['sentence\tlabel']
  for _ in range(n):
    label = rng.randint(0, 1)
    words = rng.choices(FILLER, k=rng.randint(1, 6)) + [rng.choice(POS if label else NEG)]
    rng.shuffle(words)
    lines.append(' '.join(words) + '\t' + ('pos' if label else 'neg'))
  path.write_text('\n'.join(lines) + '\n')


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
  """A folder with train.tsv (600 rows) and dev.tsv (100) of write_sentiment_tsv sentences."""
  d = tmp_path_factory.mktemp('sentiment')
  write_sentiment_tsv(d / 'train.tsv', 600, seed=0)
  write_sentiment_tsv(d / 'dev.tsv', 100, seed=1)
  return d


@pytest.fixture
def train_step_calls(monkeypatch):
  """A list that grows by one at each call of a compiled train step: the updates a run makes."""
  from textcls_jax import parallel
  calls = []
  real = parallel.DataParallel.compile_train_step
  def compile_counting(self, step_fn, *options, **keywords):
    compiled = real(self, step_fn, *options, **keywords)
    def counted(*args):
      calls.append(1)
      return compiled(*args)
    return counted
  monkeypatch.setattr(parallel.DataParallel, 'compile_train_step', compile_counting)
  return calls
