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

from typing import Optional, Sequence

import numpy as np

from textcls_jax.data import tokenizer as tok


def _tf():
  import tensorflow as tf
  return tf


def buckets_for(max_len: int, length_buckets: Sequence[int]) -> list[int]:
  """The sorted bucket lengths actually used: those below max_len, and max_len itself."""
  return sorted({b for b in length_buckets if b < max_len} | {max_len})


def _column(texts, i: int):
  """tf.string [B] -> tf.RaggedTensor int32 [B, 1] of the id i (a [CLS] or [SEP] for each row)."""
  tf = _tf()
  return tf.RaggedTensor.from_tensor(tf.fill([tf.shape(texts)[0], 1], tf.constant(i, tf.int32)))


def tokenize(texts, tokenizer: tok.Tokenizer, max_len: int):
  """tf.string [B] -> tf.RaggedTensor int32 [B, None]: [CLS] + pieces (+ [SEP] where the tokenizer
  has one: BERT's `[CLS] text [SEP]`), the pieces truncated so that all fit max_len.

  The leading [CLS] means that no row is empty, even for an empty text.
  """
  tf = _tf()
  special = tokenizer.special
  ids = tokenizer.tf_tokenize(texts)[:, :max_len - 1 - (special.sep is not None)]
  column = lambda i: _column(texts, i)
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


def pair_lengths(len_a, len_b, budget: int):
  """How many pieces of each text a pair keeps: int64 [B], [B] -> int64 [B], [B], at most `budget`
  together (max_len less [CLS] and two [SEP]). HF's 'longest_first' truncation as its tokenizers
  library computes it: a pair that fits is kept whole; otherwise the longer text is cut to what the
  shorter leaves, and where both are longer than half, they are cut to half each (the odd piece
  to the text that was longer; to the second on a tie)."""
  tf = _tf()
  shorter, longer = tf.minimum(len_a, len_b), tf.maximum(len_a, len_b)
  longer_keeps = tf.where(shorter > budget, shorter, tf.maximum(shorter, budget - shorter))
  both_cut = shorter + longer_keeps > budget
  shorter_keeps = tf.where(both_cut, tf.cast(budget // 2, len_a.dtype), shorter)
  longer_keeps = tf.where(both_cut, tf.cast(budget // 2 + budget % 2, len_a.dtype), longer_keeps)
  a_longer = len_a > len_b
  keep_a = tf.minimum(len_a, tf.where(a_longer, longer_keeps, shorter_keeps))
  keep_b = tf.minimum(len_b, tf.where(a_longer, shorter_keeps, longer_keeps))
  fits = len_a + len_b <= budget
  return tf.where(fits, len_a, keep_a), tf.where(fits, len_b, keep_b)


def tokenize_pairs(texts, pairs, tokenizer: tok.Tokenizer, max_len: int):
  """tf.string [B], [B] -> (ids, token types), tf.RaggedTensor int32 [B, None] each: BERT's
  `[CLS] text [SEP] pair [SEP]` with types 0 up to the first [SEP] and 1 after it, the pieces
  truncated by `pair_lengths` to fit max_len. The tokenizer must have a [SEP]."""
  tf = _tf()
  special = tokenizer.special
  if special.sep is None:
    raise ValueError(f'sentence pairs need a tokenizer with a [SEP] id; {tokenizer.kind} has none')
  first, second = tokenizer.tf_tokenize(texts), tokenizer.tf_tokenize(pairs)
  # Every example is a pair, an empty second text included (`[CLS] a [SEP] [SEP]`), as HF's
  # tokenizer encodes a batch of pairs (its call on one pair would drop an empty second text).
  keep_first, keep_second = pair_lengths(first.row_lengths(), second.row_lengths(), max_len - 3)
  def cut(ids, keep):
    return tf.ragged.boolean_mask(ids, tf.ragged.range(ids.row_lengths()) < keep[:, None])
  first, second = cut(first, keep_first), cut(second, keep_second)
  column = lambda i: _column(texts, i)
  ids = tf.concat([column(special.cls), first, column(special.sep), second, column(special.sep)],
                  axis=1)
  types = tf.concat([column(0), tf.zeros_like(first), column(0), tf.ones_like(second), column(1)],
                    axis=1)
  return ids, types


def token_table(texts: Sequence[str], tokenizer: tok.Tokenizer, max_len: int,
                chunk: int = 4096, pairs: Optional[Sequence[str]] = None):
  """Every text tokenized once: a tf.RaggedTensor int32 [N, None] (`tokenize`'s rows, <= max_len);
  with `pairs` (the second text of each pair), the pair's ids and its token types, two such
  tables (`tokenize_pairs`)."""
  tf = _tf()
  as_tensor = lambda rows: tf.constant(np.asarray(rows, dtype=object))
  if pairs is None:
    parts = [tokenize(as_tensor(texts[i:i + chunk]), tokenizer, max_len)
             for i in range(0, len(texts), chunk)]
    return tf.concat(parts, axis=0) if len(parts) > 1 else parts[0]
  if len(pairs) != len(texts):
    raise ValueError(f'{len(texts)} texts but {len(pairs)} pairs')
  parts = [tokenize_pairs(as_tensor(texts[i:i + chunk]), as_tensor(pairs[i:i + chunk]), tokenizer,
                          max_len) for i in range(0, len(texts), chunk)]
  return tuple(tf.concat(p, axis=0) if len(p) > 1 else p[0] for p in zip(*parts))


def classification_dataset(texts: Sequence[str], labels: np.ndarray, tokenizer: tok.Tokenizer, *,
                           batch_size: int, max_len: int, length_buckets: Sequence[int],
                           train: bool, seed: int = 0, start_step: int = 0, num_hosts: int = 1,
                           host_id: int = 0, sort_window: int = 1, prefetch: int = 4,
                           pairs: Optional[Sequence[str]] = None):
  """A tf.data.Dataset of this host's batches.

  Args:
    texts, labels: the split; labels int32 [N] class ids.
    pairs: for sentence pairs, the second text of each example (`tokenize_pairs`); None for
      single texts.
    batch_size: examples per host per step (the global batch is batch_size * num_hosts).
    sort_window: training batches come from windows of this many global batches sorted by length
      (1: no sorting).
    train: True: an endless shuffled stream starting at `start_step`. False: one pass in file
      order, the last batch filled with copies of the last example whose `weight` is 0, so that
      every example is counted exactly once.
  Yields dicts: tokens int32 [B, L], label int32 [B], weight float32 [B] (1 real, 0 padding),
  and for pairs token_types int32 [B, L] (0 on padding).
  """
  tf = _tf()
  n = len(texts)
  if n == 0:
    raise ValueError('no examples to batch')
  global_batch = batch_size * num_hosts
  ids_table = token_table(texts, tokenizer, max_len, pairs=pairs)
  ids_table, types_table = ids_table if pairs is not None else (ids_table, None)
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
    batch = {
        'tokens': pad_to_bucket(tf.gather(ids_table, idx), buckets, tokenizer.special.pad),
        'label': tf.gather(label_table, idx),
        'weight': weight,
    }
    if types_table is not None:
      batch['token_types'] = pad_to_bucket(tf.gather(types_table, idx), buckets, 0)
    return batch

  ds = index_batches.map(make_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  options = tf.data.Options()
  options.deterministic = True
  options.threading.private_threadpool_size = 2  # Leave the cores to XLA.
  return ds.with_options(options).prefetch(prefetch)
