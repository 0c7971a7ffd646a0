"""Word vectors (task 'word2vec'): what they learn, that they are reproducible and written whole,
and that init_from sets a classifier's token embedding from them and nothing else."""

import json
import pathlib
import random

import jax
import numpy as np
import pytest

from textcls_jax import config_base
from textcls_jax import config_checks
from textcls_jax import models
from textcls_jax import train
from textcls_jax import transfer
from textcls_jax import word2vec
from textcls_jax.data import tokenizer as tok

REPO = pathlib.Path(__file__).resolve().parents[1]
TOPIC_A = 'good great fine lovely superb'.split()
TOPIC_B = 'bad awful poor dull weak'.split()


def _corpus(path, n, seed):
  """Lines of one topic's words each: a topic's words share their contexts."""
  rng = random.Random(seed)
  lines = [' '.join(rng.choice(TOPIC_A if i % 2 else TOPIC_B) for _ in range(12))
           for i in range(n)]
  path.write_text('\n'.join(lines) + '\n')
  return path


def _config(tmp_path, embed_dim=16):
  c = config_base.word_vectors(config_base.pretraining_config(config_base.cnn_model(), 10))
  c.model.embed_dim = embed_dim
  c.data.corpus_sources = (f'text:{_corpus(tmp_path / "train.txt", 2000, 0)}',)
  c.data.corpus_weights = ()
  c.data.corpus_eval = f'text:{_corpus(tmp_path / "eval.txt", 200, 1)}'
  c.tokenizer.vocab_size = 40
  c.word2vec.epochs = 3
  c.word2vec.sample = 0.0  # Ten words of 10% each: word2vec's subsampling would drop nearly all.
  return c


def _cosines(vectors, pieces):
  v = vectors[pieces] / np.linalg.norm(vectors[pieces], axis=1, keepdims=True)
  return v @ v.T


def test_word_vectors_learn_shared_contexts_and_are_reproducible(tmp_path):
  config = _config(tmp_path)
  figures = train.train_and_evaluate(config, str(tmp_path / 'a'))
  vectors, trained = word2vec.load_vectors(str(tmp_path / 'a'))
  tokenizer = tok.SentencePieceTokenizer(str(tmp_path / 'a' / 'tokenizer' / 'spm.model'))
  assert vectors.shape == (tokenizer.vocab_size, 16) and vectors.dtype == np.float32
  pieces = [tokenizer.encode(w) for w in TOPIC_A + TOPIC_B]
  assert all(len(p) == 1 for p in pieces), pieces  # Each word one piece at this vocabulary.
  pieces = [p[0] for p in pieces]
  assert trained[pieces].all() and not trained[:tok.NUM_SPECIAL].any()
  cos = _cosines(vectors, pieces)
  same = np.mean([cos[i, j] for i in range(10) for j in range(10) if i != j and (i < 5) == (j < 5)])
  across = np.mean([cos[i, j] for i in range(5) for j in range(5, 10)])
  assert same > across + 0.3, (same, across)
  # Held out: a true context scores above a noise piece more often than by chance (half the noise
  # is of the context's own topic, indistinguishable here: the ceiling is about 0.75).
  assert figures['accuracy'] > 0.65
  rows = [json.loads(line) for line in (tmp_path / 'a' / 'metrics.jsonl').read_text().splitlines()]
  assert [r['step'] for r in rows] == [0, 1, 2, 3]  # Before training, then each epoch.
  assert rows[0]['accuracy'] < figures['accuracy']

  # The same config and corpus make the same vectors, bit for bit.
  train.train_and_evaluate(config, str(tmp_path / 'b'))
  assert (tmp_path / 'a' / 'word_vectors.npz').read_bytes() == (
      tmp_path / 'b' / 'word_vectors.npz').read_bytes()

  # A finished workdir is left as it is.
  before = (tmp_path / 'a' / 'word_vectors.npz').stat().st_mtime_ns
  assert train.train_and_evaluate(config, str(tmp_path / 'a'))['accuracy'] == rows[-1]['accuracy']
  assert (tmp_path / 'a' / 'word_vectors.npz').stat().st_mtime_ns == before


def test_init_from_word_vectors_sets_the_embedding_and_nothing_else(tmp_path):
  config = _config(tmp_path)
  pre = str(tmp_path / 'pre')
  train.train_and_evaluate(config, pre)
  vectors, trained = word2vec.load_vectors(pre)

  classify = config_base.base_config()
  classify.model = config.model
  classify.init_from = pre
  pretrained = transfer.open_pretrained(pre, classify)
  model = models.build_classifier(classify.model, len(trained), 2, pad_id=0)
  fresh = model.init(jax.random.PRNGKey(0), np.ones((1, 8), np.int32))['params']
  params = transfer.transferred_params(pretrained, classify, fresh)

  embedding = np.asarray(params['encoder']['embed']['embedding'])
  old = np.asarray(fresh['encoder']['embed']['embedding'])
  # Trained pieces: the vectors, rescaled to the fresh embedding's spread; the rest as they were.
  scale = embedding[trained][0, 0] / vectors[trained][0, 0]
  np.testing.assert_allclose(embedding[trained], vectors[trained] * scale, rtol=1e-5)
  assert np.std(embedding[trained]) == pytest.approx(np.std(old), rel=1e-3)
  np.testing.assert_array_equal(embedding[~trained], old[~trained])
  leaves = lambda p: jax.tree_util.tree_leaves_with_path(p)
  for (path, a), (_, b) in zip(leaves(params), leaves(fresh)):
    if 'embed' not in jax.tree_util.keystr(path):
      np.testing.assert_array_equal(np.asarray(a), np.asarray(b))

  # Any family of the same width takes them; another width is refused before anything is
  # written, naming the key.
  rnn = classify.copy_and_resolve_references()
  rnn.model = config_base.rnn_model()
  rnn.model.embed_dim = 16
  transfer.open_pretrained(pre, rnn)
  wide = classify.copy_and_resolve_references()
  wide.model = config_base.transformer_model()
  with pytest.raises(transfer.TransferError, match=r'holds word vectors 16 wide, but this config.s '
                                                   r'token embedding is 256 wide \(model.hidden_dim\)'):
    transfer.open_pretrained(pre, wide)
  with pytest.raises(ValueError, match=r'do not fit an embedding of shape \(40, 32\)'):
    word2vec.embedding_init(vectors, trained, np.zeros((40, 32), np.float32))


def test_a_word2vec_run_that_has_not_finished_gives_no_vectors(tmp_path):
  config = _config(tmp_path)
  pre = tmp_path / 'pre'
  pre.mkdir()
  (pre / 'config.json').write_text(json.dumps(config.to_dict()))
  (pre / 'tokenizer').mkdir()
  tok.train_sentencepiece(['good bad film'] * 50, str(pre / 'tokenizer' / 'spm.model'),
                          vocab_size=20)
  classify = config_base.base_config()
  classify.model = config.model
  pretrained = transfer.open_pretrained(str(pre), classify)
  with pytest.raises(transfer.TransferError, match=r'no word_vectors.npz yet'):
    transfer.transferred_params(pretrained, classify, {'encoder': {'embed': {
        'embedding': np.zeros((20, 16), np.float32)}}})


def test_word2vec_refuses_unequal_corpus_weights_in_one_line():
  # (Each word2vec key's own bad value: tests/test_config_checks.py.)
  config = config_base.config_file(str(REPO / 'configs' / 'word2vec.py'))
  config.data.corpus_sources = ('text:a.txt', 'text:b.txt')
  config.data.corpus_weights = (0.7, 0.3)
  with pytest.raises(config_checks.ConfigError, match=r'^data.corpus_weights=\(0.7, 0.3\) is not '
                     r'allowed: it must be \(\) or equal weights for task word2vec \(it reads each '
                     r'source once an epoch\)$'):
    config_checks.validate(config)
