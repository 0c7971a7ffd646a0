"""The bad-input catalogue, end to end: each case trains in-process through
`train.train_and_evaluate` (after `config_checks.check_overrides`, as the CLI does), then the input is
repaired and the SAME workdir must train again. No case may leave a workdir that fails to resume.

Refused with a clear error (message naming the file, the line and the field where there is one),
before anything but the workdir's `.lock` is written:
  missing file                    DataError 'file not found: PATH'
  empty file                      DataError 'PATH: file is empty'
  glob matching nothing           DataError 'no files match PATTERN'
  wrong column name (TSV)         DataError 'PATH:1: no text column ...; the columns are: ...'
  wrong field name (JSONL)        DataError 'PATH:1: no field ...; the fields are: ...'
  ragged TSV row                  DataError 'PATH:LINE: 3 fields, but the header has 2 (...)'
  ragged CSV row                  DataError 'PATH:LINE: 3 fields, but the header has 2 (...)'
  non-UTF-8 bytes                 DataError 'PATH:LINE: not valid utf-8 (byte 0xe9 ...'; repaired
                                  by data.encoding=cp1252
  dev label unseen in train       DataError 'PATH:LINE: label 'mixed' never appears in the training
                                  split (its labels: neg, pos)'
  mixed label types (JSONL)       DataError 'mixed label types: integers (e.g. PATH:1) and strings
                                  (e.g. PATH:LINE)'
  malformed JSONL line            DataError 'PATH:LINE: malformed JSON (...)'
  config typo                     SystemExit from config_checks.check_overrides naming the key
                                  and the valid ones
  init_from, another vocabulary   TransferError: tokenizer.model_path (40 pieces) is not the
                                  tokenizer of init_from (60 pieces)
  init_from, another family       TransferError: 'holds a 'cnn' encoder, but this config builds a
                                  'rnn' encoder'
  tokenizer not SentencePiece     TokenizerError 'PATH: not a SentencePiece model'; repaired by
                                  writing a real model to the same path
  read-only workdir               PermissionError 'workdir PATH is not writable: ...' (as root,
                                  which ignores permission bits, the workdir lies under a file)
Handled (documented), training succeeds; the second run resumes from the first one's checkpoint:
  quotes inside TSV               kept literally; no row is merged or lost
  UTF-8 BOM                       dropped: the first column name still matches
  CRLF line endings               stripped: no '\\r' in texts or labels
  empty texts                     kept, counted in a warning naming the first one's file and line
  a single text over 1 MB         trains the tokenizer and is truncated to data.max_len tokens

The messages' finer points per format (gzip, CSV quoting, TFDS, ...) are tested beside the code:
tests/test_sources.py (DataErrors), test_tokenizer.py (TokenizerError), test_mlm.py
(TransferError for a size difference), test_train.py (the CLI's one-line errors, the config typo).
"""

import dataclasses
import json
import logging
import os
import pathlib
import random
import resource
from typing import Callable, Optional

import jax
import ml_collections
import numpy as np
import pytest

from textcls_jax import config_base
from textcls_jax import config_checks
from textcls_jax import train
from textcls_jax import transfer
from textcls_jax import workdir as wd
from textcls_jax.data import pipeline
from textcls_jax.data import prepare
from textcls_jax.data import tokenizer as tok
from textcls_jax.data.sources import DataError
from textcls_jax.data.tokenizer import TokenizerError

REPO = pathlib.Path(__file__).resolve().parents[1]
TINY_CONFIG = REPO / 'configs' / 'tiny.py'
POS = 'good great fine lovely superb'.split()
NEG = 'bad awful poor dull weak'.split()
# Enough words for a 60-piece tokenizer: every case then builds the same shapes, and the
# compilation cache below turns every compile after the first into a cache hit.
FILLER = ('the film movie plot was is a and it story acting cast music script ending scenes '
          'director camera humour pacing characters dialogue').split()

# Every run: a tiny CNN, one length bucket, the eval only at the end (the compile dominates).
BASE = {
    'model.embed_dim': 16, 'model.num_filters': 8, 'tokenizer.vocab_size': 60,
    'data.max_len': 16, 'data.length_buckets': (), 'data.sort_window_batches': 1,
    'train.batch_size': 8, 'train.log_every_steps': 1, 'train.eval_every_steps': 100,
    'checkpoint.every_steps': 100, 'eval.batch_size': 16, 'optim.learning_rate': 1e-2,
    'optim.schedule': 'constant', 'optim.warmup_steps': 1,  # num_steps then changes no program.
}


@pytest.fixture(scope='module', autouse=True)
def compilation_cache(tmp_path_factory):
  """A persistent compilation cache for this module: the ~20 runs build the same programs, and
  XLA's compile is most of a tiny run's time. The settings are restored afterwards."""
  from jax.experimental.compilation_cache import compilation_cache as cc
  names = ('jax_compilation_cache_dir', 'jax_persistent_cache_min_compile_time_secs',
           'jax_persistent_cache_min_entry_size_bytes')
  saved = {n: getattr(jax.config, n) for n in names}
  for name, value in zip(names, (str(tmp_path_factory.mktemp('jax_cache')), 0.0, 0)):
    jax.config.update(name, value)
  cc.reset_cache()  # The cache is set up once per process, at the first compile.
  yield
  for name, value in saved.items():
    jax.config.update(name, value)
  cc.reset_cache()


# --- Data. ---


def sentiment_rows(n, seed):
  """n (text, 'pos'|'neg') rows; the sentiment word decides the label."""
  rng = random.Random(seed)
  rows = []
  for _ in range(n):
    label = rng.randint(0, 1)
    words = rng.choices(FILLER, k=rng.randint(1, 6)) + [rng.choice(POS if label else NEG)]
    rng.shuffle(words)
    rows.append((' '.join(words), 'pos' if label else 'neg'))
  return rows


TRAIN, DEV = sentiment_rows(40, seed=0), sentiment_rows(10, seed=1)
EXTRA_LINE = len(TRAIN) + 2  # The line of a row appended to TRAIN in a file with a header.


def write(path, content):
  """Writes str (UTF-8) or bytes; returns the path as a str."""
  data = content.encode('utf-8') if isinstance(content, str) else content
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_bytes(data)
  return str(path)


def render(kind, rows, newline='\n', bom=False, int_labels=False):
  """rows -> the text of a TSV/CSV (header sentence,label) or JSONL (fields text, label) file."""
  label = (lambda l: {'neg': 0, 'pos': 1}.get(l, l)) if int_labels else (lambda l: l)
  if kind == 'jsonl':
    lines = [json.dumps({'text': t, 'label': label(l)}) for t, l in rows]
  elif kind == 'csv':
    quote = lambda t: '"' + t.replace('"', '""') + '"' if any(c in t for c in ',"\n') else t
    lines = ['sentence,label'] + [f'{quote(t)},{l}' for t, l in rows]
  else:
    lines = ['sentence\tlabel'] + [f'{t}\t{l}' for t, l in rows]
  return ('\ufeff' if bom else '') + ''.join(line + newline for line in lines)


def files(c, kind='tsv', train_extra=(), dev_extra=(), **render_args):
  """Writes c.data/train.KIND and dev.KIND (good rows plus the extra ones); returns the data
  overrides that read them."""
  write(c.data / f'train.{kind}', render(kind, TRAIN + list(train_extra), **render_args))
  write(c.data / f'dev.{kind}', render(kind, DEV + list(dev_extra), **render_args))
  overrides = {'data.source': f'{kind}:{c.data}'}
  if kind == 'jsonl':
    overrides['data.text_field'] = 'text'
  return overrides


# --- Running a case. ---


@dataclasses.dataclass
class Ctx:
  """One case's folders: data files, the workdir (a case may move it), and the pretrained
  workdir (made on first use)."""
  tmp: pathlib.Path
  data: pathlib.Path
  workdir: pathlib.Path
  get_pretrained: Callable[[], str]

  @property
  def pretrained(self) -> str:
    return self.get_pretrained()


def tiny_config():
  import importlib.util
  spec = importlib.util.spec_from_file_location('tiny', TINY_CONFIG)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


def set_key(config, key, value):
  *parents, last = key.split('.')
  node = config
  for part in parents:
    node = node[part]
  node[last] = value


def tiny_config_with(overrides):
  """configs/tiny.py with BASE and `overrides` (for reading a case's data back)."""
  config = tiny_config()
  for key, value in {**BASE, **overrides}.items():
    set_key(config, key, value)
  return config


def run(c, overrides, steps):
  """What `python -m textcls_jax.main --config=configs/tiny.py --config.KEY=VALUE ...` does, in
  this process: the override check, a locked config, train_and_evaluate."""
  settings = {**BASE, **overrides, 'train.num_steps': steps}
  config_checks.check_overrides([f'--config={TINY_CONFIG}'] + [
      f'--config.{k}={v}' for k, v in settings.items()
      if not isinstance(v, ml_collections.ConfigDict)])  # (A whole model is no CLI override.)
  config = tiny_config()
  config.lock()  # As config_flags(lock_config=True): a key must exist to be set.
  for key, value in settings.items():
    set_key(config, key, value)
  return train.train_and_evaluate(config, str(c.workdir))


def checkpoint_steps(workdir):
  return sorted(int(s) for s in os.listdir(workdir / wd.CHECKPOINTS) if s.isdigit())


def messages(caplog):
  return [r.getMessage() for r in caplog.records]


@dataclasses.dataclass
class Case:
  """bad(c) writes the bad input and returns config overrides; error is the exception it must
  raise (None: handled, training succeeds) with every string of message(c) in its message;
  fix(c) repairs the input and returns the overrides of the good run (None: the same run again);
  check(c, figures, log lines) checks a handled case's first run."""
  name: str
  bad: Callable
  error: Optional[type] = None
  message: Callable = lambda c: []
  fix: Optional[Callable] = None
  check: Optional[Callable] = None
  dev_count: int = len(DEV)


# --- The cases that need more than one line. ---


def one_file_set(c, pattern, contents=None):
  """Writes {name: rows} as TSV files; returns the overrides that read `pattern` (a file or a
  glob) as the train split, with 20% carved off as dev (10 of TRAIN + DEV's 50 rows)."""
  for name, rows in (contents or {}).items():
    write(c.data / name, render('tsv', rows))
  return {'data.source': f'tsv:{c.data}/{pattern}', 'data.eval_split': '',
          'data.dev_fraction': 0.2}


def bad_empty_file(c):
  overrides = files(c)
  write(c.data / 'dev.tsv', b'')
  return overrides


def bad_non_utf8(c):
  overrides = files(c)
  with open(c.data / 'train.tsv', 'ab') as f:
    f.write(b'caf\xe9 \x93good\x94\tpos\n')  # cp1252, line EXTRA_LINE.
  return overrides


def bad_ragged_csv(c):
  overrides = files(c, 'csv')
  with open(c.data / 'train.csv', 'a') as f:
    f.write('comma, not quoted,pos\n')
  return overrides


def bad_malformed_jsonl(c):
  overrides = files(c, 'jsonl')
  with open(c.data / 'train.jsonl', 'a') as f:
    f.write('{"text": "cut short", "label": "pos"\n')
  return overrides


def bad_mixed_labels(c):
  overrides = files(c, 'jsonl', int_labels=True)
  with open(c.data / 'train.jsonl', 'a') as f:
    f.write(json.dumps({'text': 'a string label', 'label': 'pos'}) + '\n')
  return overrides


def other_tokenizer(c):
  """A valid tokenizer with another vocabulary (40 pieces) than the pretrained one (60)."""
  path = str(c.data / 'other.model')
  tok.train_sentencepiece([t for t, _ in TRAIN], path, vocab_size=40)
  return path


def bad_not_sentencepiece(c):
  write(c.data / 'spm.model', 'this is a text file, not a SentencePiece model\n')
  return {**files(c), 'tokenizer.model_path': str(c.data / 'spm.model')}


def fix_not_sentencepiece(c):
  tok.train_sentencepiece([t for t, _ in TRAIN], str(c.data / 'spm.model'), vocab_size=60)
  return {**files(c), 'tokenizer.model_path': str(c.data / 'spm.model')}


def bad_read_only(c):
  parent = c.tmp / 'locked'
  if os.geteuid() == 0:
    # Root ignores permission bits; a path under a regular file cannot be created by anyone.
    write(parent, 'a file where the workdir folder should be\n')
  else:
    parent.mkdir()
    parent.chmod(0o555)
  c.workdir = parent / 'run'
  return files(c)


def fix_read_only(c):
  parent = c.workdir.parent
  if parent.is_file():
    parent.unlink()
    parent.mkdir()
  else:
    parent.chmod(0o755)
  return files(c)


QUOTED = ['"quoted" at the start', 'a 5" screen, and "half', 'ends with a quote "']
QUOTE_ROWS = dict(train_extra=[(t, 'pos') for t in QUOTED], dev_extra=[('"so" "so" film', 'neg')])


def check_quotes(c, figures, log):
  config = tiny_config_with({'data.source': f'tsv:{c.data}'})
  train_split, dev_split, _ = prepare.load_splits(config.data)
  assert train_split.texts[-3:] == QUOTED
  assert dev_split.texts[-1] == '"so" "so" film'
  assert figures['count'] == len(DEV) + 1  # No row swallowed by an open quote.


def check_clean_labels(c, figures, log):
  assert wd.read_json(c.workdir / wd.LABELS) == {'names': ['neg', 'pos'], 'kind': 'str'}
  train_split, _, _ = prepare.load_splits(tiny_config_with({'data.source': f'tsv:{c.data}'}).data)
  assert train_split.texts == [t for t, _ in TRAIN]  # No BOM, no '\r'.


def check_empty_texts(c, figures, log):
  train_file, dev_file = c.data / 'train.tsv', c.data / 'dev.tsv'
  assert any(f'tsv:{c.data} [train]: 2 empty text(s) kept' in m and
             f'(first at {train_file}:{EXTRA_LINE})' in m for m in log), log
  assert any(f'tsv:{c.data} [validation]: 1 empty text(s) kept' in m and
             f'(first at {dev_file}:{len(DEV) + 2})' in m for m in log), log
  assert figures['count'] == len(DEV) + 1  # Evaluated too, from [CLS] alone.


BIG = ' '.join(random.Random(3).choices(POS + NEG + FILLER, k=200_000))  # About 1.2 MB.
# The tokenizer samples the texts in a seeded order (tokenizer.seed 0); put the big text first
# there, so that it alone fills configs/tiny.py's budget of tokenizer.max_chars=500_000.
BIG_AT = int(np.random.default_rng(0).permutation(len(TRAIN) + 1)[0])


def bad_big_text(c):
  rows = list(TRAIN)
  rows.insert(BIG_AT, (BIG, 'pos'))
  write(c.data / 'train.tsv', render('tsv', rows))
  write(c.data / 'dev.tsv', render('tsv', DEV + [(BIG, 'neg')]))
  return {'data.source': f'tsv:{c.data}'}


def check_big_text(c, figures, log):
  assert len(BIG.encode()) > 1_000_000
  assert figures['count'] == len(DEV) + 1
  tokenizer = tok.SentencePieceTokenizer(str(c.workdir / wd.TOKENIZER))
  # Trained on the big text, which alone fills the budget (it once left the trainer nothing).
  assert tokenizer.vocab_size > 40
  assert tok.UNK_ID not in tokenizer.encode(' '.join(POS + NEG + FILLER))
  def first_batch(texts):
    return next(pipeline.classification_dataset(
        texts, np.zeros(len(texts), np.int32), tokenizer, batch_size=len(texts), max_len=16,
        length_buckets=(), train=False).as_numpy_iterator())
  first_batch(['a short text'])  # Warm-up: TF's own allocations are not the big text's.
  peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
  before = peak()
  tokens = first_batch([BIG])['tokens']
  assert tokens.shape == (1, 16) and (tokens != tok.PAD_ID).all()  # Truncated to max_len.
  grown_mib = (peak() - before) / 1024
  assert grown_mib < 256, f'tokenizing the big text raised peak memory by {grown_mib:.0f} MiB'


def same_tokenizer_as_pretrained(c):
  with open(os.path.join(c.pretrained, wd.TOKENIZER), 'rb') as a:
    with open(c.workdir / wd.TOKENIZER, 'rb') as b:
      assert a.read() == b.read()


# --- The catalogue. ---


CASES = [
    Case('missing file', bad=lambda c: one_file_set(c, 'reviews.tsv'),
         error=DataError, message=lambda c: [f'file not found: {c.data}/reviews.tsv'],
         fix=lambda c: one_file_set(c, 'reviews.tsv', {'reviews.tsv': TRAIN + DEV})),
    Case('empty file', bad=bad_empty_file,
         error=DataError, message=lambda c: [f'{c.data}/dev.tsv: file is empty'], fix=files),
    Case('glob matching nothing', bad=lambda c: one_file_set(c, 'part-*.tsv', {'train.tsv': TRAIN}),
         error=DataError, message=lambda c: [f'no files match {c.data}/part-*.tsv'],
         fix=lambda c: one_file_set(c, 'part-*.tsv', {'part-0.tsv': TRAIN, 'part-1.tsv': DEV})),
    Case('wrong column name (TSV)',
         bad=lambda c: {**files(c), 'data.text_field': 'text'},
         error=DataError,
         message=lambda c: [f"{c.data}/train.tsv:1: no text column 'text'; the columns are: "
                            "'sentence', 'label'"],
         fix=files),
    Case('wrong field name (JSONL)',
         bad=lambda c: {**files(c, 'jsonl'), 'data.label_field': 'sentiment'},
         error=DataError,
         message=lambda c: [f"{c.data}/train.jsonl:1: no field 'sentiment'; the fields are: "
                            "'text', 'label'"],
         fix=lambda c: files(c, 'jsonl')),
    Case('ragged TSV row',
         bad=lambda c: files(c, train_extra=[('a tab\tinside', 'pos')]),
         error=DataError,
         message=lambda c: [f'{c.data}/train.tsv:{EXTRA_LINE}: 3 fields, but the header has 2 '
                            '(sentence, label)'],
         fix=files),
    Case('ragged CSV row', bad=bad_ragged_csv,
         error=DataError,
         message=lambda c: [f'{c.data}/train.csv:{EXTRA_LINE}: 3 fields, but the header has 2 '
                            '(sentence, label)'],
         fix=lambda c: files(c, 'csv', train_extra=[('comma, now quoted', 'pos')])),
    Case('non-UTF-8 bytes', bad=bad_non_utf8,
         error=DataError,
         message=lambda c: [f'{c.data}/train.tsv:{EXTRA_LINE}: not valid utf-8 (byte 0xe9 at '
                            'byte 3 of the line)', 'data.encoding'],
         fix=lambda c: {'data.source': f'tsv:{c.data}', 'data.encoding': 'cp1252'}),
    Case('dev label unseen in train',
         bad=lambda c: files(c, dev_extra=[('a so-so film', 'mixed')]),
         error=DataError,
         message=lambda c: [f"{c.data}/dev.tsv:{len(DEV) + 2}: label 'mixed' never appears in the "
                            'training split (its labels: neg, pos)'],
         fix=files),
    Case('mixed label types (JSONL)', bad=bad_mixed_labels,
         error=DataError,
         message=lambda c: [f'jsonl:{c.data} [train]: mixed label types: integers (e.g. '
                            f'{c.data}/train.jsonl:1) and strings (e.g. '
                            f'{c.data}/train.jsonl:{len(TRAIN) + 1})'],
         fix=lambda c: files(c, 'jsonl', int_labels=True)),
    Case('malformed JSONL line', bad=bad_malformed_jsonl,
         error=DataError,
         message=lambda c: [f'{c.data}/train.jsonl:{len(TRAIN) + 1}: malformed JSON ('],
         fix=lambda c: files(c, 'jsonl')),
    Case('config typo',
         bad=lambda c: {**files(c), 'train.num_step': 3},
         error=SystemExit,
         message=lambda c: ["unknown config key 'train.num_step' in --config.train.num_step: "
                            "train has no 'num_step'; valid keys: ", 'num_steps'],
         fix=files),
    Case('init_from with another vocabulary',
         bad=lambda c: {**files(c), 'init_from': c.pretrained,
                        'tokenizer.model_path': other_tokenizer(c)},
         error=transfer.TransferError,
         message=lambda c: [f'tokenizer.model_path={c.data}/other.model is not the tokenizer of '
                            f'init_from={c.pretrained}'],
         fix=lambda c: {**files(c), 'init_from': c.pretrained}),
    Case('init_from with another model family',
         bad=lambda c: {**files(c), 'init_from': c.pretrained, 'model': ml_collections.ConfigDict(
             {**config_base.rnn_model().to_dict(), 'embed_dim': 16, 'hidden_dim': 16})},
         error=transfer.TransferError,
         message=lambda c: [f"init_from={c.pretrained} holds a 'cnn' encoder, but this config "
                            "builds a 'rnn' encoder (model.name)"],
         fix=lambda c: {**files(c), 'init_from': c.pretrained}),
    Case('tokenizer file that is not SentencePiece', bad=bad_not_sentencepiece,
         error=TokenizerError, message=lambda c: [f'{c.data}/spm.model: not a SentencePiece model'],
         fix=fix_not_sentencepiece),
    Case('read-only workdir', bad=bad_read_only,
         error=PermissionError,
         message=lambda c: [f'workdir {c.workdir} is not writable: ' + (
             'Not a directory' if os.geteuid() == 0 else 'Permission denied')],
         fix=fix_read_only),
    # Handled: the first run trains; the second resumes it.
    Case('quotes inside TSV', bad=lambda c: files(c, **QUOTE_ROWS), check=check_quotes,
         dev_count=len(DEV) + 1),
    Case('UTF-8 BOM', bad=lambda c: files(c, bom=True), check=check_clean_labels),
    Case('CRLF line endings', bad=lambda c: files(c, newline='\r\n'), check=check_clean_labels),
    Case('empty texts',
         bad=lambda c: files(c, train_extra=[('', 'neg'), ('   ', 'pos')], dev_extra=[('', 'pos')]),
         check=check_empty_texts, dev_count=len(DEV) + 1),
    Case('a single text over 1 MB', bad=bad_big_text, check=check_big_text,
         dev_count=len(DEV) + 1),
]


@pytest.fixture(scope='module')
def pretrained(tmp_path_factory):
  """A tiny MLM pretraining workdir (a CNN like the cases', 60 pieces), trained for 2 steps."""
  root = tmp_path_factory.mktemp('pretrained')
  corpus = root / 'corpus.txt'
  write(corpus, ''.join(t + '\n' for t, _ in sentiment_rows(300, seed=5)))
  config = config_base.base_config()
  config.task = 'mlm'
  config.model = config_base.cnn_model()
  config.model.update(embed_dim=16, num_filters=8)
  config.data.corpus_sources = (f'text:{corpus}',)
  config.data.seq_len = 16
  config.tokenizer.vocab_size = 60
  config.train.update(batch_size=8, num_steps=2, log_every_steps=1, eval_every_steps=100)
  config.eval.update(batch_size=8, max_batches=2)
  config.checkpoint.update(every_steps=100, best_metric='loss', best_mode='min')
  config.optim.update(schedule='constant', warmup_steps=1)
  train.train_and_evaluate(config, str(root / 'run'))
  return str(root / 'run')


@pytest.mark.parametrize('case', CASES, ids=[c.name for c in CASES])
def test_bad_input_then_the_same_workdir_trains(case, tmp_path, caplog, request):
  c = Ctx(tmp=tmp_path, data=tmp_path / 'data', workdir=tmp_path / 'run',
          get_pretrained=lambda: request.getfixturevalue('pretrained'))
  c.data.mkdir()
  overrides = case.bad(c)
  if case.error:
    with pytest.raises(case.error) as info:
      run(c, overrides, steps=2)
    message = str(info.value)
    for part in case.message(c):
      assert part in message, f'{part!r} not in {message!r}'
    # Refused before anything but the lock is written (README, "Bad input").
    assert not c.workdir.exists() or set(os.listdir(c.workdir)) <= {'.lock'}, \
        sorted(os.listdir(c.workdir))
  else:
    with caplog.at_level(logging.INFO):
      figures = run(c, overrides, steps=2)
    assert checkpoint_steps(c.workdir) == [2]
    case.check(c, figures, messages(caplog))
    caplog.clear()

  # The input repaired (or, for a handled case, the same again): the same workdir trains on.
  fixed = case.fix(c) if case.fix else overrides
  with caplog.at_level(logging.INFO):
    figures = run(c, fixed, steps=3)
  assert figures['count'] == case.dev_count
  assert checkpoint_steps(c.workdir)[-1] == 3
  if not case.error:
    assert 'Resuming from step 2 (data position 16)' in messages(caplog)
  if 'init_from' in fixed:
    same_tokenizer_as_pretrained(c)
