"""tf.data pipelines: texts and label ids in, padded token batches out.

The training stream is a pure function of (seed, global example position): epoch e visits the
examples in the order `stateless_shuffle(range(N), seed=(seed, e))`, step s of a run with global
batch G reads positions [s*G, (s+1)*G), permuted only within its window of `sort_window` batches
(sorted by length, batch order shuffled by the seed). Resuming at step s therefore starts exactly where the
interrupted run stopped, with no iterator state to save beyond the step itself, and each host of a
multi-host run takes its own contiguous slice of every global batch.

Every text is tokenized once, when the dataset is built (the tokenizer's TensorFlow ops, in
chunks), into a table of token ids; batches gather rows of that table, so that neither the length
sort nor a later epoch tokenizes again. Each batch is padded to the smallest length bucket that
holds its longest sequence, so that XLA compiles one program per bucket rather than one per length.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from textcls_jax.data import tokenizer as tok


def _tf():
  import tensorflow as tf
  return tf


def buckets_for(max_len: int, length_buckets: Sequence[int]) -> list[int]:
  """The sorted bucket lengths actually used: those below max_len, and max_len itself."""
  return sorted({b for b in length_buckets if b < max_len} | {max_len})


def tokenize(texts, tokenizer: tok.Tokenizer, max_len: int):
  """tf.string [B] -> tf.RaggedTensor int32 [B, None]: [CLS] + pieces (+ [SEP] where the tokenizer
  has one: BERT's `[CLS] text [SEP]`), the pieces truncated so that all fit max_len.

  The leading [CLS] means that no row is empty, even for an empty text.
  """
  tf = _tf()
  special = tokenizer.special
  ids = tokenizer.tf_tokenize(texts)[:, :max_len - 1 - (special.sep is not None)]
  def column(i):
    return tf.RaggedTensor.from_tensor(tf.fill([tf.shape(texts)[0], 1], tf.constant(i, tf.int32)))
  parts = [column(special.cls), ids] + ([column(special.sep)] if special.sep is not None else [])
  return tf.concat(parts, axis=1)


def pad_to_bucket(ids, buckets: Sequence[int], pad_id: int):
  """tf.RaggedTensor int32 [B, None] -> int32 [B, L], `pad_id` (the tokenizer's [PAD]) to the
  smallest bucket L that holds the longest row."""
  tf = _tf()
  longest = tf.reduce_max(ids.row_lengths())
  bucket_table = tf.constant(buckets, tf.int64)
  length = tf.gather(bucket_table, tf.searchsorted(bucket_table, [longest])[0])
  dense = ids.to_tensor(default_value=pad_id)
  dense = tf.pad(dense, [[0, 0], [0, length - tf.cast(tf.shape(dense)[1], tf.int64)]],
                 constant_values=pad_id)
  return tf.ensure_shape(dense, [None, None])


def tokenize_and_pad(texts, tokenizer: tok.Tokenizer, max_len: int, buckets: Sequence[int]):
  """tf.string [B] -> int32 [B, L]: `tokenize`, then `pad_to_bucket`."""
  return pad_to_bucket(tokenize(texts, tokenizer, max_len), buckets, tokenizer.special.pad)


def token_table(texts: Sequence[str], tokenizer: tok.Tokenizer, max_len: int,
                chunk: int = 4096):
  """Every text tokenized once: a tf.RaggedTensor int32 [N, None] (`tokenize`'s rows, <= max_len)."""
  tf = _tf()
  parts = [tokenize(tf.constant(np.asarray(texts[i:i + chunk], dtype=object)), tokenizer, max_len)
           for i in range(0, len(texts), chunk)]
  return tf.concat(parts, axis=0) if len(parts) > 1 else parts[0]


def classification_dataset(texts: Sequence[str], labels: np.ndarray, tokenizer: tok.Tokenizer, *,
                           batch_size: int, max_len: int, length_buckets: Sequence[int],
                           train: bool, seed: int = 0, start_step: int = 0, num_hosts: int = 1,
                           host_id: int = 0, sort_window: int = 1, prefetch: int = 4):
  """A tf.data.Dataset of this host's batches.

  Args:
    texts, labels: the split; labels int32 [N] class ids.
    batch_size: examples per host per step (the global batch is batch_size * num_hosts).
    sort_window: training batches come from windows of this many global batches sorted by length
      (1: no sorting).
    train: True: an endless shuffled stream starting at `start_step`. False: one pass in file
      order, the last batch filled with copies of the last example whose `weight` is 0, so that
      every example is counted exactly once.
  Yields dicts: tokens int32 [B, L], label int32 [B], weight float32 [B] (1 real, 0 padding).
  """
  tf = _tf()
  n = len(texts)
  if n == 0:
    raise ValueError('no examples to batch')
  global_batch = batch_size * num_hosts
  ids_table = token_table(texts, tokenizer, max_len)
  label_table = tf.constant(np.asarray(labels, np.int32))
  buckets = buckets_for(max_len, length_buckets)

  if train:
    # Windows of `sort_window` global batches: sorting a window by length before cutting it into
    # batches makes each batch's sequences alike in length (little padding), and shuffling the
    # batch order keeps lengths mixed over time. Every choice is seeded by (seed, window).
    window = sort_window * global_batch
    start_window, skip_batches = divmod(start_step, sort_window)
    start_epoch, offset = divmod(start_window * window, n)
    def epoch_order(epoch):
      order = tf.random.experimental.stateless_shuffle(
          tf.range(n, dtype=tf.int64), seed=tf.stack([tf.constant(seed, tf.int64), epoch]))
      return tf.data.Dataset.from_tensor_slices(order)
    def window_batches(w, idx):
      if sort_window > 1:
        lengths = tf.gather(ids_table.row_lengths(), idx)
        idx = tf.gather(idx, tf.argsort(lengths, stable=True))
      batches = tf.reshape(idx, [sort_window, global_batch])
      batch_order = tf.random.experimental.stateless_shuffle(
          tf.range(sort_window), seed=tf.stack([tf.constant(seed, tf.int64), -1 - w]))
      return tf.data.Dataset.from_tensor_slices(tf.gather(batches, batch_order))
    positions = tf.data.Dataset.range(start_epoch, 2**62).flat_map(epoch_order).skip(offset)
    index_batches = (positions.batch(window, drop_remainder=True).enumerate(start_window)
                     .flat_map(window_batches).skip(skip_batches).map(
                         lambda idx: (idx[host_id * batch_size:(host_id + 1) * batch_size],
                                      tf.ones([batch_size], tf.float32))))
  else:
    num_batches = -(-n // global_batch)
    def eval_indices(b):
      pos = b * global_batch + host_id * batch_size + tf.range(batch_size, dtype=tf.int64)
      return tf.minimum(pos, n - 1), tf.cast(pos < n, tf.float32)
    index_batches = tf.data.Dataset.range(num_batches).map(eval_indices)

  def make_batch(idx, weight):
    return {
        'tokens': pad_to_bucket(tf.gather(ids_table, idx), buckets, tokenizer.special.pad),
        'label': tf.gather(label_table, idx),
        'weight': weight,
    }

  ds = index_batches.map(make_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  options = tf.data.Options()
  options.deterministic = True
  options.threading.private_threadpool_size = 2  # Leave the cores to XLA.
  return ds.with_options(options).prefetch(prefetch)
