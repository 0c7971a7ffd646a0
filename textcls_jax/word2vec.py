"""Word vectors for an encoder's token embedding: config.task 'word2vec'.

Kim (2014) lifts his CNN by 5 points on MR by starting its embedding from word2vec; this is our
own: skip-gram with negative sampling (Mikolov et al., 2013), trained by gensim's word2vec on the
run's unlabeled corpus (the same `data.corpus_sources`, tokenizer and token cache as an MLM run),
over the tokenizer's pieces, for the token embedding of `config.model`'s encoder. The run writes
`word_vectors.npz` (the vectors, float32 [vocab, width], and which pieces the corpus holds, bool
[vocab]) in one atomic write at the end, so an interrupted run leaves none and starts over (a few
minutes); `init_from` such a workdir sets the embedding of any task's encoder from the vectors
(`embedding_init`) and leaves every other parameter fresh.

One gensim thread (`word2vec.threads` = 1) makes the vectors a pure function of the config and the
corpus; more threads are faster and not reproducible.
"""

from __future__ import annotations

import io
import time

import numpy as np
from absl import logging

from textcls_jax import models
from textcls_jax import run_log as run_log_lib
from textcls_jax import workdir as wd
from textcls_jax.data import prepare

EVAL_PAIRS = 100_000  # Held-out (centre, context) pairs scored after each epoch.


class TokenDocuments:
  """A restartable iterable of documents, each a list of piece ids as strings (gensim's words):
  the token streams cut at each [CLS] (which starts every document), in pieces of at most 10,000
  tokens (gensim's longest sentence)."""

  def __init__(self, streams: list[np.ndarray], vocab_size: int, max_words: int = 10_000, *,
               cls_id: int):
    self._streams = streams
    self._cls = cls_id  # The tokenizer's [CLS]: where each document of a stream starts.
    self._words = np.array([str(i) for i in range(vocab_size)], dtype=object)
    self._max = max_words

  def __iter__(self):
    for tokens in self._streams:
      starts = np.flatnonzero(tokens == self._cls).tolist()
      if not starts or starts[0] != 0:
        starts = [0] + starts
      for a, b in zip(starts, starts[1:] + [len(tokens)]):
        doc = tokens[a:b]
        doc = doc[doc != self._cls]
        for i in range(0, len(doc), self._max):
          yield self._words[doc[i:i + self._max]].tolist()


def keep_probability(counts: np.ndarray, sample: float) -> np.ndarray:
  """float64 [vocab]: the chance word2vec keeps an occurrence of each piece when it subsamples
  frequent ones (gensim's formula; `sample` 0 keeps all)."""
  if not sample:
    return np.ones(len(counts))
  threshold = sample * counts.sum()
  safe = np.maximum(counts, 1)
  return np.minimum(1.0, (np.sqrt(safe / threshold) + 1) * threshold / safe)


def held_out_pairs(tokens: np.ndarray, counts: np.ndarray, window: int, sample: float,
                   negatives: int, seed: int, num_pairs: int = EVAL_PAIRS, *, cls_id: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """(centre int32 [P], context int32 [P], noise int32 [P, negatives]), P <= num_pairs: held-out
  pairs as training sees them, a centre token and one within `window` of it in the same document,
  both kept by word2vec's subsampling of frequent pieces (training counts, `sample`), and noise
  tokens drawn from the training counts ^ 0.75 (word2vec's noise distribution). Pairs that cross
  a [CLS] are dropped."""
  rng = np.random.default_rng(seed)
  n, draws = len(tokens), 50 * num_pairs  # Subsampling keeps a few percent of the pairs.
  centre = rng.integers(0, n, size=draws)
  offset = rng.integers(1, window + 1, size=draws) * rng.choice([-1, 1], size=draws)
  inside = (centre + offset >= 0) & (centre + offset < n)
  centre, context = centre[inside], (centre + offset)[inside]
  documents = np.cumsum(tokens == cls_id)  # The document each position is in.
  kept = keep_probability(counts, sample)
  keep = ((documents[centre] == documents[context]) & (tokens[centre] != cls_id) &
          (tokens[context] != cls_id) & (rng.random(len(centre)) < kept[tokens[centre]]) &
          (rng.random(len(centre)) < kept[tokens[context]]))
  centre, context = centre[keep][:num_pairs], context[keep][:num_pairs]
  noise = counts.astype(np.float64) ** 0.75
  negative = rng.choice(len(counts), size=(len(centre), negatives), p=noise / noise.sum())
  return tokens[centre].astype(np.int32), tokens[context].astype(np.int32), negative.astype(np.int32)


def pair_figures(vectors: np.ndarray, context_vectors: np.ndarray, pairs) -> dict:
  """Held-out skip-gram figures: `accuracy`, the share of (pair, noise token) comparisons the true
  context wins (0.5 for untrained vectors), and `loss`, word2vec's objective per pair,
  -log sigmoid(true) - sum over the noise tokens of log sigmoid(-noise).
  vectors, context_vectors: float32 [vocab, width]."""
  centre, context, negative = pairs
  e = vectors[centre]
  true = np.einsum('pd,pd->p', e, context_vectors[context])
  noise = np.einsum('pd,pkd->pk', e, context_vectors[negative])
  loss = np.logaddexp(0, -true) + np.logaddexp(0, noise).sum(1)
  wins = np.mean(true[:, None] > noise) + 0.5 * np.mean(true[:, None] == noise)
  return {'accuracy': float(wins), 'loss': float(np.mean(loss)), 'count': len(centre)}


def untrained_model(w2v_config, width: int, seed: int):
  """gensim's skip-gram Word2Vec as config.word2vec says, `width` wide, every piece kept."""
  from gensim.models import word2vec as gensim_word2vec
  return gensim_word2vec.Word2Vec(
      vector_size=width, window=w2v_config.window, negative=w2v_config.negatives,
      sample=w2v_config.sample, sg=1, min_count=1, alpha=w2v_config.learning_rate,
      min_alpha=w2v_config.learning_rate * 1e-4, workers=w2v_config.threads, seed=seed)


def vectors_by_id(model, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
  """A gensim model's (vectors, context vectors), float32 [vocab_size, width] each, row i for piece
  id i (gensim keys them by the id as a string, most frequent first); zeros for absent pieces."""
  ids = np.array([int(w) for w in model.wv.index_to_key])
  vectors = np.zeros((vocab_size, model.wv.vector_size), np.float32)
  context = np.zeros_like(vectors)
  vectors[ids], context[ids] = model.wv.vectors, model.syn1neg
  return vectors, context


def train(config, workdir: str, tokenizer_path: str) -> dict:
  """Trains word vectors as config.word2vec says on config.data's corpus (this process must be the
  only one: the caller runs it on process 0) and writes them to workdir/word_vectors.npz.
  Returns the held-out figures of the last epoch. A workdir that has its vectors is left as it is."""
  from gensim.models import callbacks as gensim_callbacks
  w2v = config.word2vec
  data = prepare.prepare_pretraining(config, workdir, tokenizer_path)
  wd.write_config(workdir, config)  # What init_from reads.
  path = wd.join(workdir, wd.WORD_VECTORS)
  if wd.exists(path):
    logging.info('%s holds its word vectors already; nothing to train', workdir)
    metrics = wd.read_metrics(workdir) if wd.exists(wd.join(workdir, wd.METRICS)) else []
    return next((r for r in reversed(metrics) if r['split'] == 'dev'), {})
  vocab_size = data.tokenizer.vocab_size
  counts = sum(np.bincount(t, minlength=vocab_size) for t in data.train_tokens)
  cls_id = data.tokenizer.special.cls
  counts[cls_id] = 0
  pairs = held_out_pairs(data.eval_tokens, counts, w2v.window, w2v.sample, w2v.negatives,
                         config.seed, cls_id=cls_id)
  width = models.embedding_dim(config.model)
  documents = TokenDocuments(data.train_tokens, vocab_size, cls_id=cls_id)
  num_tokens = int(counts.sum())
  model = untrained_model(w2v, width, config.seed)
  model.build_vocab(documents)
  log = run_log_lib.RunLog(workdir, 0, is_main=True)
  figures = {}

  class EpochEnd(gensim_callbacks.CallbackAny2Vec):
    def __init__(self):
      self.epoch = 0
      self.start = time.perf_counter()

    def on_epoch_end(self, _):
      nonlocal figures
      self.epoch += 1
      figures = pair_figures(*vectors_by_id(model, vocab_size), pairs)
      seconds = time.perf_counter() - self.start
      rate = self.epoch * num_tokens / seconds
      logging.info('epoch %d/%d | held-out pair accuracy %.4f, loss %.4f | %s tokens/s | ETA %s',
                   self.epoch, w2v.epochs, figures['accuracy'], figures['loss'], f'{rate:,.0f}',
                   run_log_lib.format_duration(seconds / self.epoch * (w2v.epochs - self.epoch)))
      log.write(self.epoch, 'dev', {**figures, 'tokens_per_s': rate, 'seconds': seconds})

  before = pair_figures(*vectors_by_id(model, vocab_size), pairs)
  logging.info('word2vec: %s training tokens, %d pieces in the corpus, width %d, %d epochs; '
               'held-out pair accuracy %.4f before training', f'{num_tokens:,}',
               len(model.wv.index_to_key), width, w2v.epochs, before['accuracy'])
  log.write(0, 'dev', before)
  model.train(documents, total_examples=model.corpus_count, epochs=w2v.epochs,
              callbacks=[EpochEnd()])
  log.close()
  vectors, _ = vectors_by_id(model, vocab_size)
  trained = counts > 0
  buffer = io.BytesIO()
  np.savez(buffer, vectors=vectors, trained=trained)
  wd.atomic_write_bytes(path, buffer.getvalue())  # Last: its presence says the run finished.
  logging.info('Word vectors: %s (%d of %d pieces trained)', path, int(trained.sum()), vocab_size)
  return figures


def load_vectors(workdir: str) -> tuple[np.ndarray, np.ndarray]:
  """(vectors float32 [vocab, width], trained bool [vocab]) of a word2vec workdir."""
  path = wd.join(workdir, wd.WORD_VECTORS)
  if not wd.exists(path):
    raise FileNotFoundError(f'no {wd.WORD_VECTORS} yet (its word2vec run has not finished)')
  with np.load(io.BytesIO(wd.read_bytes(path))) as saved:
    return saved['vectors'], saved['trained']


def embedding_init(vectors: np.ndarray, trained: np.ndarray, fresh: np.ndarray) -> np.ndarray:
  """The token embedding a run starts from: the trained pieces' vectors, rescaled so that their
  standard deviation is the fresh embedding's (the recipe's learning rates then mean what they
  did from scratch); the other pieces (specials, pieces the corpus lacks) keep their fresh rows.
  vectors float32 [vocab, width], trained bool [vocab], fresh [vocab, width] -> fresh's dtype."""
  if vectors.shape != fresh.shape:
    raise ValueError(f'word vectors of shape {vectors.shape} do not fit an embedding of shape '
                     f'{fresh.shape} (different vocabulary or width)')
  fresh = np.asarray(fresh)
  scaled = vectors * (fresh.std() / max(float(vectors[trained].std()), 1e-12))
  return np.where(trained[:, None], scaled, fresh).astype(fresh.dtype)
