"""The classification pipeline: shapes, buckets, exact evaluation, and a resumable training stream."""

import itertools

import numpy as np
import pytest

from conftest import make_corpus
from textcls_jax.data import pipeline
from textcls_jax.data import tokenizer as tok

BUCKETS = (4, 8, 16)


def _batches(ds, n=None):
  it = ds.as_numpy_iterator()
  return list(it if n is None else itertools.islice(it, n))


def test_tokens_start_with_cls_are_bucketed_and_truncated(tiny_tokenizer):
  texts = ['good film', '', 'very very very very very very very very very very good plot story']
  ds = pipeline.classification_dataset(texts, np.array([1, 0, 1]), tiny_tokenizer, batch_size=3,
                                       max_len=12, length_buckets=BUCKETS, train=False)
  (batch,) = _batches(ds)
  tokens = batch['tokens']
  assert tokens.dtype == np.int32 and tokens.shape == (3, 12)  # Longest truncated to max_len.
  assert (tokens[:, 0] == tok.CLS_ID).all()
  assert tokens[1, 1:].tolist() == [tok.PAD_ID] * 11  # The empty text is [CLS] alone.
  expected = [tok.CLS_ID] + tiny_tokenizer.encode('good film')
  assert tokens[0, :len(expected)].tolist() == expected
  assert (tokens[0, len(expected):] == tok.PAD_ID).all()
  (short,) = _batches(pipeline.classification_dataset(
      texts[:1], np.array([1]), tiny_tokenizer, batch_size=1, max_len=12, length_buckets=BUCKETS,
      train=False))
  assert short['tokens'].shape == (1, 4)  # Padded only up to the smallest bucket that fits.


@pytest.mark.parametrize('n,batch_size', [(10, 4), (8, 4), (3, 8)])
def test_evaluation_sees_every_example_exactly_once(tiny_tokenizer, n, batch_size):
  texts = make_corpus(n, seed=1)
  labels = np.arange(n, dtype=np.int32)
  batches = _batches(pipeline.classification_dataset(
      texts, labels, tiny_tokenizer, batch_size=batch_size, max_len=16, length_buckets=BUCKETS,
      train=False))
  assert all(b['tokens'].shape[0] == batch_size for b in batches)  # Fixed shape: no recompiles.
  seen = np.concatenate([b['label'][b['weight'] > 0] for b in batches])
  assert sorted(seen.tolist()) == list(range(n))
  assert sum(b['weight'].sum() for b in batches) == n


def _train_stream(tokenizer, texts, start_step=0, seed=0, sort_window=4, batch_size=4, **kw):
  return pipeline.classification_dataset(
      texts, np.arange(len(texts), dtype=np.int32), tokenizer, batch_size=batch_size, max_len=16,
      length_buckets=BUCKETS, train=True, seed=seed, start_step=start_step,
      sort_window=sort_window, **kw)


@pytest.mark.parametrize('sort_window', [1, 4])
def test_training_stream_resumes_exactly(tiny_tokenizer, sort_window):
  texts = make_corpus(30, seed=2)
  full = _batches(_train_stream(tiny_tokenizer, texts, sort_window=sort_window), 20)
  for start in (1, 5, 7, 13):
    resumed = _batches(_train_stream(tiny_tokenizer, texts, start_step=start,
                                     sort_window=sort_window), 20 - start)
    for a, b in zip(full[start:], resumed):
      np.testing.assert_array_equal(a['label'], b['label'])
      np.testing.assert_array_equal(a['tokens'], b['tokens'])


def test_each_epoch_visits_every_example_once_in_a_seeded_order(tiny_tokenizer):
  texts = make_corpus(24, seed=3)
  batches = _batches(_train_stream(tiny_tokenizer, texts, sort_window=1), 12)  # 2 epochs x 6.
  epoch1 = np.concatenate([b['label'] for b in batches[:6]])
  epoch2 = np.concatenate([b['label'] for b in batches[6:]])
  assert sorted(epoch1) == list(range(24)) and sorted(epoch2) == list(range(24))
  assert epoch1.tolist() != epoch2.tolist()
  other_seed = np.concatenate([b['label'] for b in _batches(
      _train_stream(tiny_tokenizer, texts, seed=1, sort_window=1), 6)])
  assert other_seed.tolist() != epoch1.tolist()
  # Sorting windows only permute within a window: 3 windows of 16 = 2 epochs, each example twice.
  sorted_run = np.concatenate([b['label'] for b in _batches(_train_stream(tiny_tokenizer, texts),
                                                            12)])
  assert np.bincount(sorted_run).tolist() == [2] * 24


def test_sorting_windows_reduce_padding(tiny_tokenizer):
  texts = make_corpus(256, seed=4)
  def padding(sort_window):
    batches = _batches(_train_stream(tiny_tokenizer, texts, sort_window=sort_window,
                                     batch_size=8), 32)
    return sum((b['tokens'] == tok.PAD_ID).sum() for b in batches)
  assert padding(32) < 0.7 * padding(1)


def test_hosts_read_disjoint_slices_of_each_global_batch(tiny_tokenizer):
  texts = make_corpus(40, seed=5)
  whole = _batches(_train_stream(tiny_tokenizer, texts, batch_size=8), 5)
  parts = [_batches(_train_stream(tiny_tokenizer, texts, batch_size=4, num_hosts=2, host_id=h), 5)
           for h in range(2)]
  for step in range(5):
    joined = np.concatenate([parts[0][step]['label'], parts[1][step]['label']])
    np.testing.assert_array_equal(joined, whole[step]['label'])
