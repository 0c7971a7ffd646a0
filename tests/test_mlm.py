"""MLM: masking statistics and invariants, packing, pretraining, and transfer to a classifier."""

import os
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from textcls_jax import masking
from textcls_jax import vocab
from textcls_jax import transfer
from textcls_jax import train
from textcls_jax.data import corpus
from textcls_jax.data import tokenizer as tok

VOCAB = 1000


def _tokens(batch=64, length=128, seed=0, pad_from=None):
  rng = np.random.default_rng(seed)
  t = rng.integers(tok.NUM_SPECIAL, VOCAB, size=(batch, length)).astype(np.int32)
  t[:, 0] = tok.CLS_ID
  t[rng.random((batch, length)) < 0.05] = tok.CLS_ID  # Document starts inside packed windows.
  if pad_from is not None:
    for i, n in enumerate(pad_from):
      t[i, n:] = tok.PAD_ID
  return jnp.asarray(t)


def test_masking_rate_split_and_invariants():
  tokens = _tokens()
  k = masking.num_predictions(128, 0.15)
  inputs, positions, targets, weights = masking.mask_tokens(
      jax.random.PRNGKey(0), tokens, vocab_size=VOCAB, max_predictions=k, special=vocab.SENTENCEPIECE)
  tokens, inputs, positions, targets, weights = map(
      np.asarray, (tokens, inputs, positions, targets, weights))
  picked = weights > 0
  rows = np.arange(len(tokens))[:, None]
  candidates = (tokens >= tok.NUM_SPECIAL).sum(1)
  # Rate: 15% of each sequence's candidates, rounded.
  np.testing.assert_array_equal(picked.sum(1), np.round(candidates * 0.15))
  # Never a special token; targets are the original tokens; positions unique per row.
  assert (tokens[rows, positions][picked] >= tok.NUM_SPECIAL).all()
  np.testing.assert_array_equal(targets, tokens[rows, positions])
  assert all(len(set(p[w])) == w.sum() for p, w in zip(positions, picked))
  # Inputs change only at picked positions.
  changed = inputs != tokens
  changed_at_picked = np.zeros_like(changed)
  changed_at_picked[rows.repeat(k, 1)[picked], positions[picked]] = True
  assert not (changed & ~changed_at_picked).any()
  # 80/10/10: [MASK], random, unchanged.
  new = inputs[rows, positions][picked]
  orig = targets[picked]
  n = picked.sum()
  frac_mask = (new == tok.MASK_ID).mean()
  frac_same = (new == orig).mean()
  assert n > 1000
  assert frac_mask == pytest.approx(0.8, abs=0.03)
  assert frac_same == pytest.approx(0.1, abs=0.03)  # (a random token equal to it is rare)
  assert 1 - frac_mask - frac_same == pytest.approx(0.1, abs=0.03)
  assert (new[(new != tok.MASK_ID)] >= tok.NUM_SPECIAL).all()  # Random tokens are not special.


@pytest.mark.parametrize('length', [1, 2, 7, 40])
def test_masking_short_and_padded_sequences(length):
  tokens = _tokens(batch=4, length=40, pad_from=[length, length, 40, 1])
  _, positions, _, weights = masking.mask_tokens(
      jax.random.PRNGKey(1), tokens, vocab_size=VOCAB, max_predictions=6, special=vocab.SENTENCEPIECE)
  tokens, positions, weights = map(np.asarray, (tokens, positions, weights))
  for row in range(4):
    picked = positions[row][weights[row] > 0]
    assert (tokens[row, picked] >= tok.NUM_SPECIAL).all()  # Never pad, [CLS] or [MASK].
    if (tokens[row] >= tok.NUM_SPECIAL).any():
      assert len(picked) >= 1


def test_fresh_masks_each_step_same_masks_same_key():
  tokens = _tokens(batch=2, length=64)
  a = masking.mask_tokens(jax.random.PRNGKey(0), tokens, vocab_size=VOCAB, max_predictions=10, special=vocab.SENTENCEPIECE)
  b = masking.mask_tokens(jax.random.PRNGKey(0), tokens, vocab_size=VOCAB, max_predictions=10, special=vocab.SENTENCEPIECE)
  c = masking.mask_tokens(jax.random.PRNGKey(1), tokens, vocab_size=VOCAB, max_predictions=10, special=vocab.SENTENCEPIECE)
  np.testing.assert_array_equal(np.asarray(a[1]), np.asarray(b[1]))
  assert not np.array_equal(np.asarray(a[1]), np.asarray(c[1]))


class _FakeTokenizer:
  special = vocab.SENTENCEPIECE

  def encode_batch(self, texts):
    return [[4 + len(w) for w in t.split()] for t in texts]


def test_packing_loses_and_duplicates_nothing():
  texts = [' '.join('x' * (1 + (i + j) % 5) for j in range(1 + i % 7)) for i in range(50)]
  stream = corpus.tokenize_to_array(iter(texts), _FakeTokenizer(), chunk=8)
  expected = np.concatenate([[tok.CLS_ID] + [4 + len(w) for w in t.split()] for t in texts])
  np.testing.assert_array_equal(stream, expected)  # Documents marked by [CLS], in order.
  seq_len = 8
  windows = len(stream) // seq_len
  all_windows = sorted(tuple(stream[i * seq_len:(i + 1) * seq_len]) for i in range(windows))
  it = corpus.mlm_train_batches([stream], [1.0], seq_len=seq_len, batch_size=1, seed=3)
  epoch = [tuple(next(it)['tokens'][0]) for _ in range(windows)]
  assert sorted(epoch) == all_windows  # One epoch: every window once, none twice.
  assert epoch != [tuple(stream[i * seq_len:(i + 1) * seq_len]) for i in range(windows)]  # Shuffled.
  assert all(len(w) == seq_len and tok.PAD_ID not in w for w in epoch)  # No padding at all.


def test_mixture_shares_and_resumable_stream():
  assert corpus.shares([0.5, 0.5], 6) == [3, 3]
  assert corpus.shares([0.7, 0.2, 0.1], 10) == [7, 2, 1]
  assert sum(corpus.shares([1, 1, 1], 16)) == 16
  a = np.arange(4000, dtype=np.int32)
  b = -np.arange(4000, dtype=np.int32)
  full = corpus.mlm_train_batches([a, b], [3, 1], seq_len=10, batch_size=8, seed=0)
  batches = [next(full)['tokens'] for _ in range(12)]
  assert all(((x[:6] >= 0).all() and (x[6:] <= 0).all()) for x in batches)  # 6 + 2 rows.
  resumed = corpus.mlm_train_batches([a, b], [3, 1], seq_len=10, batch_size=8, seed=0,
                                     start_step=7)
  for x in batches[7:]:
    np.testing.assert_array_equal(next(resumed)['tokens'], x)
  host1 = corpus.mlm_train_batches([a, b], [3, 1], seq_len=10, batch_size=4, seed=0, num_hosts=2,
                                   host_id=1)
  np.testing.assert_array_equal(next(host1)['tokens'], batches[0][4:])


def test_eval_windows_cover_the_held_out_text_once():
  tokens = np.arange(100, dtype=np.int32)
  batches = corpus.mlm_eval_batches(tokens, seq_len=10, batch_size=4, max_batches=10)
  valid = np.concatenate([b['tokens'][b['weight'] > 0] for b in batches])
  np.testing.assert_array_equal(valid.ravel(), tokens)


def _mlm_config(tmp_path, family='transformer'):
  from test_train import _load_config
  from textcls_jax import config_base
  config = _load_config('tiny_mlm')
  text = tmp_path / 'corpus.txt'
  from conftest import make_corpus
  text.write_text('\n'.join(make_corpus(3000, seed=7)) + '\n')
  config.data.corpus_sources = (f'text:{text}',)
  config.data.corpus_max_chars = 0
  config.tokenizer.vocab_size = 60
  config.data.seq_len = 32
  config.train.num_steps = 60
  config.train.eval_every_steps = 30
  config.checkpoint.every_steps = 30
  if family != 'transformer':
    config.model = getattr(config_base, f'{family}_model')()
    config.model.update({'rnn': dict(embed_dim=16, hidden_dim=16),
                         'cnn': dict(embed_dim=16, num_filters=8)}[family])
  else:
    config.model.update(max_len=32)
  return config


@pytest.mark.parametrize('family', ['rnn', 'cnn', 'transformer'])
def test_pretraining_reduces_mlm_loss(tmp_path, family):
  config = _mlm_config(tmp_path, family)
  train.train_and_evaluate(config, str(tmp_path / 'pre'))
  from test_train import _metrics
  rows = [r for r in _metrics(tmp_path / 'pre') if r['split'] == 'train']
  assert rows[-1]['loss'] < rows[0]['loss'] - 0.3
  dev = [r for r in _metrics(tmp_path / 'pre') if r['split'] == 'dev']
  # The corpus draws its words independently, so guessing each token from its frequency (the
  # unigram model, about 22 here) is near the best a model can do; the uniform guess (60, the
  # vocabulary) is far above. 60 steps bring every family near the unigram model.
  unigram = unigram_perplexity(tmp_path / 'pre', config)
  assert dev[-1]['perplexity'] < 1.25 * unigram, (dev[-1]['perplexity'], unigram)


def unigram_perplexity(workdir, config) -> float:
  """exp(entropy) of the token frequencies of the corpus (config.data.corpus_sources' one text
  file) under the workdir's tokenizer: the perplexity of guessing each masked token from its
  frequency alone."""
  import math

  from textcls_jax import workdir as wd
  from textcls_jax.data import tokenizer as tok
  tokenizer = tok.load(str(workdir / wd.TOKENIZER_DIR))
  path = config.data.corpus_sources[0].split(':', 1)[1]
  counts = np.bincount(np.concatenate([tokenizer.encode(line) for line in
                                       pathlib.Path(path).read_text().splitlines()]))
  p = counts[counts > 0] / counts.sum()
  return math.exp(-(p * np.log(p)).sum())


def fine_tune_one_frozen_step(tmp_path, pre: str, model_config):
  """A classifier of model_config started from the pretraining workdir `pre` and trained one step
  with its encoder frozen, in tmp_path/'fine' on a small sentiment TSV. Returns (its config, the
  parameters of its checkpoint)."""
  from test_train import tiny_config, write_sentiment_tsv
  data = tmp_path / 'cls'
  data.mkdir()
  write_sentiment_tsv(data / 'train.tsv', 200, seed=0)
  write_sentiment_tsv(data / 'dev.tsv', 50, seed=1)
  cls_config = tiny_config(data, steps=1)
  cls_config.model = model_config
  cls_config.init_from = pre
  cls_config.finetune.freeze_encoder_steps = 5  # The first step leaves the encoder as loaded.
  train.train_and_evaluate(cls_config, str(tmp_path / 'fine'))
  from textcls_jax.predict import Predictor
  return cls_config, Predictor.from_workdir(str(tmp_path / 'fine'), 'latest')._params


def test_pretrained_encoder_loads_exactly_into_a_classifier(tmp_path):
  config = _mlm_config(tmp_path, 'cnn')
  pre = str(tmp_path / 'pre')
  train.train_and_evaluate(config, pre)
  saved, step = transfer.load_encoder_params(transfer.Pretrained.read(pre))
  assert step == 60
  cls_config, params = fine_tune_one_frozen_step(tmp_path, pre, config.model)
  for a, b in zip(jax.tree.leaves(params['encoder']), jax.tree.leaves(saved)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  with open(os.path.join(pre, 'tokenizer', 'spm.model'), 'rb') as f1, \
      open(tmp_path / 'fine' / 'tokenizer' / 'spm.model', 'rb') as f2:
    assert f1.read() == f2.read()  # The tokenizer came with the encoder.

  # A mismatched init_from is refused before the workdir is touched.
  bad = cls_config.copy_and_resolve_references()
  bad.model.num_filters = 9
  with pytest.raises(transfer.TransferError, match=r'model.num_filters: pretrained 8, here 9'):
    train.train_and_evaluate(bad, str(tmp_path / 'bad'))
  assert not (tmp_path / 'bad' / 'config.json').exists()
  from textcls_jax import config_base
  bad.model = config_base.rnn_model()
  with pytest.raises(transfer.TransferError, match="holds a 'cnn' encoder, but this config builds "
                                                   "a 'rnn' encoder"):
    train.train_and_evaluate(bad, str(tmp_path / 'bad'))


def test_unlabeled_tfds_source_with_split_and_char_budget():
  import tensorflow_datasets as tfds
  assert corpus.parse_unlabeled_spec('tfds:imdb_reviews@unsupervised') == ('tfds:imdb_reviews',
                                                                            'unsupervised')
  assert corpus.parse_unlabeled_spec('text:a/b.txt') == ('text:a/b.txt', 'train')
  with tfds.testing.mock_data(num_examples=12):
    texts = list(corpus.read_texts('tfds:imdb_reviews@unsupervised', text_field='text'))
    assert len(texts) == 12 and all(isinstance(t, str) and t for t in texts)
    limited = list(corpus.read_texts('tfds:imdb_reviews@unsupervised', text_field='text',
                                     max_chars=1))
    assert len(limited) == 1


def test_local_unlabeled_sources_skip_empty_lines(tmp_path):
  import gzip
  path = tmp_path / 'books.txt.gz'
  with gzip.open(path, 'wt') as f:
    f.write('first paragraph\n\nsecond one\n   \nthird\n')
  assert list(corpus.read_texts(f'text:{path}')) == ['first paragraph', 'second one', 'third']


def test_token_cache_is_reused_for_the_same_text_and_remade_for_an_edited_one(tmp_path,
                                                                             tiny_tokenizer,
                                                                             caplog):
  text = tmp_path / 'books.txt'
  text.write_text('good film\nbad plot\n')
  cache = tmp_path / 'cache'
  first = corpus.cached_token_array(f'text:{text}', tiny_tokenizer, str(cache))
  [made] = cache.iterdir()
  made_at = made.stat().st_mtime_ns
  again = corpus.cached_token_array(f'text:{text}', tiny_tokenizer, str(cache))
  np.testing.assert_array_equal(again, first)
  assert [p.name for p in cache.iterdir()] == [made.name] and made.stat().st_mtime_ns == made_at
  # The same size and a restored modification time: only the bytes tell the edit apart.
  stat = text.stat()
  text.write_text('good plot\nbad film\n')
  os.utime(text, ns=(stat.st_atime_ns, stat.st_mtime_ns))
  with caplog.at_level('WARNING'):
    edited = corpus.cached_token_array(f'text:{text}', tiny_tokenizer, str(cache))
  np.testing.assert_array_equal(edited, corpus.tokenize_to_array(
      iter(['good plot', 'bad film']), tiny_tokenizer))
  assert not np.array_equal(edited, first)
  assert 'changed since its tokens were cached' in caplog.text
  assert len(list(cache.iterdir())) == 2


def test_compatibility_fills_missing_keys_with_the_encoder_defaults():
  """A workdir written before model.embed_norm existed holds the default (off): it loads into a
  config that leaves it off and is refused by one that turns it on."""
  from textcls_jax import config_base
  model = config_base.transformer_model().to_dict()
  older = {k: v for k, v in model.items() if k != 'embed_norm'}
  transfer.check_compatible('old', older, model)
  transfer.check_compatible('old', older, {**model, 'pooling': 'max', 'dropout': 0.0})
  with pytest.raises(transfer.TransferError, match=r'model.embed_norm: pretrained False, here True'):
    transfer.check_compatible('old', older, {**model, 'embed_norm': True})
  with pytest.raises(transfer.TransferError, match=r'model.num_layers: pretrained 4, here 2'):
    transfer.check_compatible('old', older, {**model, 'num_layers': 2})


def test_freeze_encoder_steps_holds_the_encoder_for_exactly_that_many_updates(tmp_path):
  """With a learning rate above 0 from the first update, finetune.freeze_encoder_steps=K keeps the
  encoder exactly as pretrained through update K while the head trains; update K+1 moves it."""
  from conftest import write_sentiment_tsv
  from test_train import tiny_config
  from textcls_jax import optim
  from textcls_jax.predict import Predictor
  config = _mlm_config(tmp_path, 'cnn')
  config.train.num_steps = 10  # Any trained encoder will do.
  config.train.eval_every_steps = 10
  config.checkpoint.every_steps = 10
  pre = str(tmp_path / 'pre')
  train.train_and_evaluate(config, pre)
  saved, _ = transfer.load_encoder_params(transfer.Pretrained.read(pre))
  data = tmp_path / 'cls'
  data.mkdir()
  write_sentiment_tsv(data / 'train.tsv', 200, seed=0)
  write_sentiment_tsv(data / 'dev.tsv', 50, seed=1)
  k = 3
  cls_config = tiny_config(data, steps=k + 1)
  cls_config.model = config.model
  cls_config.init_from = pre
  cls_config.finetune.freeze_encoder_steps = k
  cls_config.optim.schedule = 'constant'
  cls_config.optim.warmup_steps = 0
  cls_config.train.eval_every_steps = k + 1
  cls_config.checkpoint.every_steps = 1  # A checkpoint after every update, all kept.
  cls_config.checkpoint.max_to_keep = k + 1
  schedule = optim.learning_rate_schedule(cls_config.optim, k + 1)
  assert all(float(schedule(i)) > 0 for i in range(k + 1))  # Else a frozen update proves nothing.
  fine = str(tmp_path / 'fine')
  train.train_and_evaluate(cls_config, fine)
  params = {s: Predictor.from_workdir(fine, s)._params for s in range(1, k + 2)}
  same = lambda a, b: all(np.array_equal(np.asarray(x), np.asarray(y))
                          for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))
  for s in range(1, k + 1):
    for a, b in zip(jax.tree.leaves(params[s]['encoder']), jax.tree.leaves(saved)):
      np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=f'step {s}')
    if s > 1:
      assert not same(params[s]['head'], params[s - 1]['head']), f'head unchanged at step {s}'
  assert not same(params[k + 1]['encoder'], saved)  # Update K+1 trains the encoder.


def test_task_adaptive_pretraining_reads_the_task_train_text_and_never_its_test_split(tmp_path):
  """'task:train' / 'task:dev' are the labelled source's splits as a classification run with the
  same data config makes them; the held-out test split's texts are in neither."""
  from conftest import write_sentiment_tsv
  from textcls_jax.data import prepare
  write_sentiment_tsv(tmp_path / 'labelled.tsv', 300, seed=3)
  config = _mlm_config(tmp_path, 'cnn')
  config.data.update(source=f'tsv:{tmp_path}/labelled.tsv', text_field='sentence',
                     eval_split='', test_fraction=0.2, corpus_sources=('task:train',),
                     corpus_weights=(1.0,), corpus_eval='task:dev')
  data = prepare.prepare_pretraining(config, str(tmp_path / 'tapt'), '')
  train_split, dev_split, test_split = prepare.load_splits(config.data)
  assert len(train_split) + len(dev_split) + len(test_split) == 300 and len(test_split) == 60
  expect = corpus.tokenize_to_array(iter(train_split.texts), data.tokenizer)
  np.testing.assert_array_equal(data.train_tokens[0], expect)
  np.testing.assert_array_equal(
      data.eval_tokens, corpus.tokenize_to_array(iter(dev_split.texts), data.tokenizer))
  assert int((data.train_tokens[0] == tok.CLS_ID).sum()) == len(train_split)  # One [CLS] a text.


def test_continued_pretraining_carries_the_mlm_head_and_fine_tuning_only_the_encoder(tmp_path):
  from textcls_jax import config_base
  from textcls_jax import models
  from textcls_jax import train_state
  config = _mlm_config(tmp_path, 'rnn')
  pre = str(tmp_path / 'pre')
  train.train_and_evaluate(config, pre)
  pretrained = transfer.Pretrained.read(pre)
  saved, _ = transfer.load_params(pretrained)
  vocab_size = tok.load(pretrained.tokenizer_path).vocab_size

  def fresh(cfg, num_classes=0):
    model, inputs = models.build_for_task(cfg, vocab_size, num_classes, pad_id=0)
    return train_state.create_train_state(cfg, model, inputs, jax.random.PRNGKey(5)).params

  again = config.copy_and_resolve_references()
  again.init_from = pre
  params = transfer.transferred_params(pretrained, again, fresh(again))
  assert set(params) == set(saved) and len(saved) > 1
  for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(saved)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))

  classify = config_base.base_config()
  classify.model = config.model
  classify.init_from = pre
  start = fresh(classify, num_classes=2)
  params = transfer.transferred_params(pretrained, classify, start)
  for a, b in zip(jax.tree.leaves(params['encoder']), jax.tree.leaves(saved['encoder'])):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  for a, b in zip(jax.tree.leaves(params['head']), jax.tree.leaves(start['head'])):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))  # A new head for a new task.
