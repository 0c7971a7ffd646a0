"""Pretraining input: unlabeled text, tokenized once into a packed token array, cut into windows.

Each source is tokenized into one int32 stream in which every document starts with [CLS] (so document
boundaries are marked inside packed windows), ends with [SEP] where the tokenizer has one
(WordPiece: a document then reads as the classifier's `[CLS] text [SEP]` rows do), and is cached in
the workdir as `corpus/<name>.npy`, as nanoGPT does. A training sequence is a window of `seq_len`
consecutive tokens: no step is padding.

The batch stream is a pure function of (seed, step), like the classification one: source i supplies a
fixed share n_i of every global batch (from `weights`), and reads the windows of its epoch e in the
order `permutation(seed, i, e)`. A resumed run therefore reads exactly the batches it would have read,
with only the step saved. Batches are numpy indexing of an in-memory array; there is nothing for
tf.data to parallelize.
"""

from __future__ import annotations

import hashlib
import io
import os
from typing import Iterator, Optional, Sequence

import numpy as np
from absl import logging
from etils import epath

from textcls_jax import workdir as wd
from textcls_jax.data import sources
from textcls_jax.data import tokenizer as tok


def parse_unlabeled_spec(spec: str) -> tuple[str, str]:
  """'KIND:LOCATION[@split]' -> (KIND:LOCATION, split); the split defaults to 'train'."""
  base, _, split = spec.rpartition('@') if '@' in spec.split(':', 1)[-1] else (spec, '', '')
  return base, split or 'train'


def read_texts(spec: str, *, text_field: str = 'text', tfds_data_dir: Optional[str] = None,
               encoding: str = 'utf-8', max_chars: int = 0) -> Iterator[str]:
  """Yields the non-empty texts of an unlabeled source, stopping after `max_chars` if it is > 0."""
  base, split = parse_unlabeled_spec(spec)
  kind, location = sources.parse_spec(base)
  if kind == 'tfds':
    texts = sources.load_split(base, split, text_field=text_field,
                               tfds_data_dir=tfds_data_dir).texts
  else:
    paths = sources.resolve_local_files(kind, location, split)
    texts = (text for path in paths for text, _, _ in sources.read_local_file(
        kind, path, '' if kind == 'text' else text_field, '', encoding))
  chars = 0
  for text in texts:
    if text.strip():
      yield text
      chars += len(text)
      if max_chars and chars >= max_chars:
        return


def tokenize_to_array(texts: Iterator[str], tokenizer: tok.Tokenizer,
                      chunk: int = 4096) -> np.ndarray:
  """Texts -> int32 [N] stream: [CLS] doc1 [CLS] doc2 ..., or [CLS] doc1 [SEP] [CLS] doc2 [SEP] ...
  for a tokenizer with a [SEP] (the special ids are the tokenizer's)."""
  parts, buffer = [], []
  sep = [] if tokenizer.special.sep is None else [tokenizer.special.sep]
  def flush():
    for ids in tokenizer.encode_batch(buffer):
      parts.append(np.asarray([tokenizer.special.cls] + ids + sep, np.int32))
    buffer.clear()
  for text in texts:
    buffer.append(text)
    if len(buffer) == chunk:
      flush()
  flush()
  if not parts:
    raise sources.DataError('the pretraining corpus is empty')
  return np.concatenate(parts)


def source_fingerprint(spec: str, tfds_data_dir: Optional[str] = None) -> str:
  """What a source's text is, for the token cache: each local file's path, size and a hash of its
  bytes, so that an edited corpus is tokenized again; for TFDS, the dataset, split and data folder
  (TFDS datasets are versioned: name the version, 'tfds:NAME:1.2.3', to pin one)."""
  base, split = parse_unlabeled_spec(spec)
  kind, location = sources.parse_spec(base)
  h = hashlib.blake2b(digest_size=16)
  if kind == 'tfds':
    h.update(repr((base, split, tfds_data_dir or os.environ.get('TFDS_DATA_DIR', ''))).encode())
    return h.hexdigest()
  for path in sources.resolve_local_files(kind, location, split):
    h.update(f'{os.path.abspath(path)}:{os.path.getsize(path)};'.encode())
    with open(path, 'rb') as f:
      while chunk := f.read(1 << 20):
        h.update(chunk)
  return h.hexdigest()


def cached_token_array(spec: str, tokenizer: tok.Tokenizer, cache_dir: str,
                       **read_args) -> np.ndarray:
  """The token stream of `spec`, read from cache_dir when made before from the same text with the
  same tokenizer and reading settings.

  The file name is `<settings key>-<text key>.npy`: a cache whose settings match but whose text
  does not was made from an older version of the corpus, which is said in a warning.
  """
  settings = hashlib.sha256(repr((spec, sorted(read_args.items()))).encode() +
                            tokenizer.fingerprint()).hexdigest()[:16]
  text = source_fingerprint(spec, read_args.get('tfds_data_dir'))
  path = wd.join(cache_dir, f'{settings}-{text}.npy')
  if wd.exists(path):
    if wd.is_remote(path):
      with epath.Path(path).open('rb') as f:
        return np.load(f)
    return np.load(path, mmap_mode='r')
  if wd.exists(cache_dir) and any(p.name.startswith(settings + '-')
                                  for p in epath.Path(cache_dir).iterdir()):
    logging.warning('%s changed since its tokens were cached in %s: tokenizing it again (a resumed '
                    'run reads other windows from here on)', spec, cache_dir)
  logging.info('Tokenizing %s ...', spec)
  tokens = tokenize_to_array(read_texts(spec, **read_args), tokenizer)
  buffer = io.BytesIO()
  np.save(buffer, tokens)
  wd.atomic_write_bytes(path, buffer.getvalue())
  logging.info('%s: %s tokens, cached in %s', spec, f'{len(tokens):,}', path)
  return tokens


def shares(weights: Sequence[float], global_batch: int) -> list[int]:
  """Rows of each global batch per source: proportional to weights, summing to global_batch."""
  w = np.asarray(weights, np.float64)
  if len(w) == 0 or (w < 0).any() or w.sum() <= 0:
    raise ValueError(f'source weights must be non-negative with a positive sum, got {weights}')
  exact = w / w.sum() * global_batch
  n = np.floor(exact).astype(int)
  for i in np.argsort(-(exact - n), kind='stable')[:global_batch - n.sum()]:
    n[i] += 1
  return n.tolist()


class WindowStream:
  """Windows [seq_len] of one token stream, visited epoch by epoch in a seeded order."""

  def __init__(self, tokens: np.ndarray, seq_len: int, seed: int, source_index: int):
    self.tokens, self.seq_len = tokens, seq_len
    self.num_windows = len(tokens) // seq_len
    if self.num_windows == 0:
      raise sources.DataError(f'corpus of {len(tokens)} tokens is shorter than one sequence '
                              f'({seq_len})')
    self.seed, self.source_index = seed, source_index
    self._epoch, self._order = None, None

  def _epoch_order(self, epoch: int) -> np.ndarray:
    if epoch != self._epoch:
      self._epoch = epoch
      self._order = np.random.default_rng([self.seed, self.source_index, epoch]).permutation(
          self.num_windows)
    return self._order

  def windows(self, positions: np.ndarray) -> np.ndarray:
    """Global window positions int64 [n] -> tokens int32 [n, seq_len]."""
    out = np.empty((len(positions), self.seq_len), np.int32)
    for row, pos in enumerate(positions):
      epoch, offset = divmod(int(pos), self.num_windows)
      start = int(self._epoch_order(epoch)[offset]) * self.seq_len
      out[row] = self.tokens[start:start + self.seq_len]
    return out


def mlm_train_batches(token_arrays: Sequence[np.ndarray], weights: Sequence[float], *,
                      seq_len: int, batch_size: int, seed: int, start_step: int = 0,
                      num_hosts: int = 1, host_id: int = 0) -> Iterator[dict]:
  """Endless batches for this host: tokens int32 [batch_size, seq_len], weight float32 [batch_size]."""
  global_batch = batch_size * num_hosts
  rows = shares(weights, global_batch)
  streams = [WindowStream(t, seq_len, seed, i) for i, t in enumerate(token_arrays)]
  step = start_step
  while True:
    parts = [stream.windows(np.arange(step * n, (step + 1) * n)) for stream, n in zip(streams, rows)
             if n]
    batch = np.concatenate(parts)[host_id * batch_size:(host_id + 1) * batch_size]
    yield {'tokens': batch, 'weight': np.ones(batch_size, np.float32)}
    step += 1


def mlm_eval_batches(tokens: np.ndarray, *, seq_len: int, batch_size: int, max_batches: int,
                     num_hosts: int = 1, host_id: int = 0) -> list[dict]:
  """The first max_batches global batches of windows, in order; the last filled with weight 0 rows."""
  num_windows = min(len(tokens) // seq_len, max_batches * batch_size * num_hosts)
  if num_windows == 0:
    raise sources.DataError(f'evaluation corpus of {len(tokens)} tokens is shorter than one '
                            f'sequence ({seq_len})')
  global_batch = batch_size * num_hosts
  batches = []
  for start in range(0, num_windows, global_batch):
    pos = np.arange(start, start + global_batch)[host_id * batch_size:(host_id + 1) * batch_size]
    valid = pos < num_windows
    pos = np.minimum(pos, num_windows - 1)
    windows = np.stack([tokens[p * seq_len:(p + 1) * seq_len] for p in pos]).astype(np.int32)
    batches.append({'tokens': windows, 'weight': valid.astype(np.float32)})
  return batches
