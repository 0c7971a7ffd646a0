"""Sentence pairs (config.data.pair_field): read from local files and TFDS, encoded as BERT does in
the tf.data pipeline (`[CLS] a [SEP] b [SEP]`, token types 0 then 1), classified end to end by a
BERT-layout encoder started from a tiny random checkpoint, predicted, and refused in one line where
they cannot work. HF's own ids and token types on real pairs: tests/test_wordpiece.py; our
encoder's logits with token types against transformers': tests/test_hf_bert.py."""

import json
import os
import random

import numpy as np
import pytest

pytest.importorskip('transformers')

from conftest import FILLER, NEG, POS  # noqa: E402
from test_published_encoder import CLS, PAD, SEP, _config, _rows, _save_bert  # noqa: E402

from textcls_jax import config_base  # noqa: E402
from textcls_jax import config_checks  # noqa: E402
from textcls_jax import train  # noqa: E402
from textcls_jax.data import pipeline  # noqa: E402
from textcls_jax.data import sources  # noqa: E402
from textcls_jax.data import tokenizer as tok  # noqa: E402


def _pair_rows(n, seed):
  """(premise, hypothesis, label): the label is the sentiment word of the hypothesis; the premise
  holds a sentiment word of its own, drawn independently, so that only a model that tells the two
  texts apart can learn the task."""
  rng = random.Random(seed)
  rows = []
  for _ in range(n):
    label, distractor = rng.randint(0, 1), rng.randint(0, 1)
    first = rng.choices(FILLER, k=rng.randint(1, 4)) + [rng.choice(POS if distractor else NEG)]
    second = rng.choices(FILLER, k=rng.randint(1, 4)) + [rng.choice(POS if label else NEG)]
    rng.shuffle(first)
    rng.shuffle(second)
    rows.append((' '.join(first), ' '.join(second), 'pos' if label else 'neg'))
  return rows


@pytest.fixture(scope='module')
def pair_dir(tmp_path_factory):
  """train.tsv (800 rows) and dev.tsv (100) of `_pair_rows`, columns premise, hypothesis, label."""
  d = tmp_path_factory.mktemp('pairs')
  for split, n, seed in (('train', 800, 0), ('dev', 100, 1)):
    lines = ['premise\thypothesis\tlabel'] + ['\t'.join(row) for row in _pair_rows(n, seed)]
    (d / f'{split}.tsv').write_text('\n'.join(lines) + '\n')
  return d


def _load(spec, **kw):
  return sources.load_split(spec, kw.pop('split', 'train'), **kw)


def test_local_tsv_and_jsonl_pairs_are_read_with_their_second_texts(pair_dir, tmp_path):
  ex = _load(f'tsv:{pair_dir}', text_field='premise', pair_field='hypothesis',
             label_field='label')
  rows = _pair_rows(800, 0)
  assert ex.texts == [r[0] for r in rows] and ex.pairs == [r[1] for r in rows]
  assert ex.labels == [r[2] for r in rows]
  assert ex.subset([3, 1], 'two').pairs == [rows[3][1], rows[1][1]]
  path = tmp_path / 'pairs.jsonl'
  path.write_text(json.dumps({'q': 'why', 'title': 'a', 'body': 'b', 'y': 1}) + '\n')
  ex = _load(f'jsonl:{path}', text_field='q', pair_field='title+body', label_field='y')
  assert (ex.texts, ex.pairs, ex.labels) == (['why'], ['a b'], [1])
  single = _load(f'tsv:{pair_dir}', text_field='premise', label_field='label')
  assert single.pairs is None


def test_a_missing_pair_column_or_a_text_file_with_pairs_is_one_line(pair_dir, tmp_path):
  with pytest.raises(sources.DataError, match=r"train\.tsv:1: no pair column 'second'; the "
                     r"columns are: 'premise', 'hypothesis', 'label'"):
    _load(f'tsv:{pair_dir}', text_field='premise', pair_field='second', label_field='label')
  (tmp_path / 'lines.txt').write_text('a\nb\n')
  with pytest.raises(sources.DataError, match='no labels or pairs'):
    _load(f'text:{tmp_path / "lines.txt"}', text_field='', pair_field='x')


def test_tfds_glue_mrpc_reads_sentence_pairs():
  tfds = pytest.importorskip('tensorflow_datasets')
  with tfds.testing.mock_data(num_examples=12):
    ex = _load('tfds:glue/mrpc', text_field='sentence1', pair_field='sentence2',
               label_field='label')
    with pytest.raises(sources.DataError, match="no pair feature 'hypothesis'"):
      _load('tfds:glue/mrpc', text_field='sentence1', pair_field='hypothesis')
  assert len(ex.pairs) == len(ex.texts) == 12 and all(isinstance(p, str) for p in ex.pairs)
  assert ex.label_names == ['not_equivalent', 'equivalent']


def test_pair_batches_carry_bert_token_types_zero_on_padding(pair_dir):
  tokenizer = tok.wordpiece_from(os.path.join(_save_bert(pair_dir / 'bert'), 'vocab.txt'))
  rows = _pair_rows(40, 2)
  ds = pipeline.classification_dataset(
      [r[0] for r in rows], np.zeros(len(rows), np.int32), tokenizer, batch_size=16, max_len=12,
      length_buckets=(8, 12), train=False, pairs=[r[1] for r in rows])
  seen = 0
  for batch in ds.as_numpy_iterator():
    assert batch['token_types'].shape == batch['tokens'].shape
    for tokens, types in zip(batch['tokens'], batch['token_types']):
      n = int((tokens != PAD).sum())
      seps = np.flatnonzero(tokens == SEP)
      assert tokens[0] == CLS and len(seps) == 2 and seps[1] == n - 1, tokens
      assert types.tolist() == [0] * (seps[0] + 1) + [1] * (n - seps[0] - 1) + [0] * (
          len(tokens) - n)
      seen += 1
  assert seen >= len(rows)


def test_pairs_are_refused_in_one_line_where_they_cannot_work():
  def problem(c):
    return next(p for p in config_checks.problems(c) if p.startswith('data.pair_field'))
  c = config_base.config_file(os.path.join(os.path.dirname(__file__), '..', 'configs', 'tiny.py'))
  c.data.pair_field = 'hypothesis'
  assert "tokenizer.kind='wordpiece'" in problem(c)  # SentencePiece has no [SEP].
  c.tokenizer.kind, c.init_from = 'wordpiece', 'somewhere'
  assert 'model.type_vocab_size >= 2' in problem(c)  # Our own encoder has no token types.
  c.model = config_base.bert_model(32, 2, 4, 64, max_len=64)
  assert not [p for p in config_checks.problems(c) if p.startswith('data.pair_field')]
  c.task = 'mlm'
  assert "for task mlm" in problem(c)


@pytest.fixture(scope='module')
def pair_run(pair_dir, tmp_path_factory):
  config = _config(pair_dir, _save_bert(pair_dir / 'bert_run'), steps=80)
  config.data.text_field, config.data.pair_field = 'premise', 'hypothesis'
  config.data.max_len = 24
  run = str(tmp_path_factory.mktemp('pair_run') / 'run')
  train.train_and_evaluate(config, run)
  return run


def test_a_pair_task_fine_tunes_end_to_end_telling_the_two_texts_apart(pair_run):
  """The hypothesis' sentiment decides the label and the premise holds a distracting one: above
  chance only if the model tells the texts apart; F1 (of class 1, GLUE's) is reported."""
  dev = _rows(pair_run, 'dev')
  assert dev[-1]['accuracy'] >= 0.8, dev
  assert 0 <= dev[-1]['f1'] <= 1


def test_predict_classifies_pairs_and_refuses_single_texts_on_a_pair_workdir(pair_run):
  from textcls_jax.predict import Predictor
  predictor = Predictor.from_workdir(pair_run, 'best')
  out = predictor.predict(['the film was bad', 'a great plot'],
                          pairs=['the story is superb', 'it was awful'])
  assert [o['label'] for o in out] == ['pos', 'neg']
  with pytest.raises(ValueError, match='sentence pairs'):
    predictor.predict(['the film was bad'])


def test_glue_mrpc_runs_end_to_end_on_mock_tfds_data(pair_dir, tmp_path):
  tfds = pytest.importorskip('tensorflow_datasets')
  config = _config(pair_dir, _save_bert(tmp_path / 'bert'), steps=4)
  config.data.source, config.data.eval_split = 'tfds:glue/mrpc', 'validation'
  config.data.text_field, config.data.pair_field = 'sentence1', 'sentence2'
  config.train.eval_every_steps = config.checkpoint.every_steps = 4
  run = str(tmp_path / 'run')
  with tfds.testing.mock_data(num_examples=40):
    train.train_and_evaluate(config, run)
  dev = _rows(run, 'dev')
  assert dev[-1]['count'] == 40 and 'f1' in dev[-1]
  with open(os.path.join(run, 'labels.json')) as f:
    assert json.load(f)['names'] == ['not_equivalent', 'equivalent']


def test_the_predict_cli_reads_pairs_from_a_tsv_and_refuses_standard_input(pair_run, tmp_path):
  import subprocess
  import sys
  path = tmp_path / 'in.tsv'
  path.write_text('premise\thypothesis\nthe film was bad\tthe story is superb\n'
                  'a great plot\tit was awful\n')
  cli = [sys.executable, '-m', 'textcls_jax.predict', f'--workdir={pair_run}']
  out = subprocess.run(cli + [f'--input={path}', '--format=tsv', '--text_field=premise'],
                       capture_output=True, text=True, check=True)
  rows = [json.loads(line) for line in out.stdout.splitlines()]
  assert [(r['text'], r['pair'], r['label']) for r in rows] == [
      ('the film was bad', 'the story is superb', 'pos'), ('a great plot', 'it was awful', 'neg')]
  refused = subprocess.run(cli, input='the film was bad\n', capture_output=True, text=True)
  assert refused.returncode == 1 and 'Traceback' not in refused.stderr
  assert refused.stderr.strip().splitlines()[-1].startswith(
      'error: this workdir classifies sentence pairs')
