"""Properties over arbitrary input (hypothesis).

Tokenization: any Unicode text (every code point but surrogates, which UTF-8 cannot encode: control
characters, NUL, BOM, line separators, unassigned code points, the special pieces' spellings), empty
or hundreds of thousands of characters long, goes through `Tokenizer.encode`, `encode_batch`,
`tf_tokenize` and the pipeline's `tokenize_and_pad` / `classification_dataset` without a crash: the
three tokenizations agree, ids lie in [0, vocab_size), rows are [CLS] + the text's ids truncated to
max_len and padded to the smallest bucket that holds them, and the pad id appears only in the tail.

Masking: for any sequence length, content (special ids anywhere, padded tails) and rate,
`masking.mask_tokens` picks round(rate x candidates) positions, at least one where there is a
candidate and at most max_predictions; never a special or pad token; weights exactly at the picked
positions; targets are the original tokens; inputs change only at the picked positions, and only
to [MASK] or a non-special token.

The jitted and tf.function-traced functions are built once per shape and reused for every example.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from textcls_jax import masking
from textcls_jax import vocab
from textcls_jax.data import pipeline
from textcls_jax.data import tokenizer as tok

MAX_LEN = 16
BUCKETS = (4, 8, 16)
CHEAP = settings(max_examples=150, deadline=None, database=None)
COSTLY = settings(max_examples=12, deadline=None, database=None)  # Builds a tf.data pipeline.

WORDS = ('good great fine bad awful poor film movie plot actor scene story very not quite the a '
         'and but it is was').split()  # conftest.make_corpus's words: they get real pieces.
SPELLINGS = ['[CLS]', '[MASK]', '<pad>', '<unk>', '<s>', '</s>', '\u2581', '\ufeff', '\x00']

# Any text: arbitrary code points (st.characters() leaves out only surrogates), words the
# tokenizer knows mixed with odd characters and the special pieces' spellings, and long texts.
TEXT = st.one_of(
    st.text(),
    st.lists(st.one_of(st.sampled_from(WORDS + SPELLINGS), st.text(max_size=3)), max_size=30)
    .map(' '.join),
    st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=6), st.integers(100, 5_000)),
)
ODD = ['', ' ', '\x00', '\ufeff', '\r\n\t\x0b\x0c\x1c\x85\u2028\u2029', '[CLS] good [MASK] <pad>',
       '\U0010ffff\ue000\U000e0001', 'e\u0301 \ufb01 \uff26', 'good ' * 100_000]


def check_row(row, text, tokenizer, length):
  """row (int32 [L]) is [CLS] + text's ids truncated to MAX_LEN, then PAD up to `length`."""
  ids = [tok.CLS_ID] + tokenizer.encode(text)[:MAX_LEN - 1]
  assert len(row) == length
  assert row[:len(ids)].tolist() == ids
  assert (row[len(ids):] == tok.PAD_ID).all()  # Padding only in the tail ...
  assert tok.PAD_ID not in row[:len(ids)]  # ... and nowhere else.
  assert ((row >= 0) & (row < tokenizer.vocab_size)).all()


def bucket_for(n):
  return min(b for b in pipeline.buckets_for(MAX_LEN, BUCKETS) if b >= n)


@given(texts=st.lists(TEXT, max_size=6))
@example(texts=ODD)
@CHEAP
def test_encode_encode_batch_and_tf_tokenize_agree_and_stay_in_range(tiny_tokenizer, texts):
  import tensorflow as tf
  ids = [tiny_tokenizer.encode(t) for t in texts]
  assert tiny_tokenizer.encode_batch(texts) == ids
  assert tiny_tokenizer.tf_tokenize(tf.constant(texts, tf.string)).to_list() == ids
  for text, row in zip(texts, ids):
    assert all(0 < i < tiny_tokenizer.vocab_size for i in row), (text, row)  # Never the pad id.
    if not text:
      assert row == []


@pytest.fixture(scope='module')
def tokenize_and_pad(tiny_tokenizer):
  """pipeline.tokenize_and_pad as one traced tf.function: tf.string [N] -> int32 [N, L]."""
  import tensorflow as tf
  return tf.function(
      lambda texts: pipeline.tokenize_and_pad(texts, tiny_tokenizer, MAX_LEN, BUCKETS),
      input_signature=[tf.TensorSpec([None], tf.string)])


@given(texts=st.lists(TEXT, min_size=1, max_size=8))
@example(texts=ODD)
@CHEAP
def test_tokenize_and_pad_rows_are_cls_ids_then_tail_padding(tiny_tokenizer, tokenize_and_pad,
                                                             texts):
  import tensorflow as tf
  tokens = tokenize_and_pad(tf.constant(texts, tf.string)).numpy()
  assert tokens.dtype == np.int32
  longest = max(1 + len(tiny_tokenizer.encode(t)[:MAX_LEN - 1]) for t in texts)
  assert tokens.shape == (len(texts), bucket_for(longest))  # The smallest bucket that holds it.
  for row, text in zip(tokens, texts):
    check_row(row, text, tiny_tokenizer, tokens.shape[1])


@given(texts=st.lists(TEXT, min_size=1, max_size=10), batch_size=st.integers(1, 4))
@COSTLY
def test_classification_dataset_takes_any_text(tiny_tokenizer, texts, batch_size):
  labels = np.arange(len(texts), dtype=np.int32)
  args = dict(batch_size=batch_size, max_len=MAX_LEN, length_buckets=BUCKETS)
  batches = list(pipeline.classification_dataset(texts, labels, tiny_tokenizer, train=False,
                                                 **args).as_numpy_iterator())
  real = np.concatenate([b['label'][b['weight'] > 0] for b in batches])
  assert real.tolist() == labels.tolist()  # Every text once, in order.
  for batch in batches:
    assert batch['tokens'].shape[0] == batch_size and batch['tokens'].shape[1] <= MAX_LEN
    for row, label in zip(batch['tokens'], batch['label']):
      check_row(row, texts[label], tiny_tokenizer, batch['tokens'].shape[1])
  stream = pipeline.classification_dataset(texts, labels, tiny_tokenizer, train=True,
                                           sort_window=2, **args).as_numpy_iterator()
  for _ in range(2):
    batch = next(stream)
    for row, label in zip(batch['tokens'], batch['label']):
      check_row(row, texts[label], tiny_tokenizer, batch['tokens'].shape[1])


# --- Masking. ---

VOCAB = 60
ROWS = 4
SHAPES = {1: (1,), 6: (1, 6), 32: (1, 5, 32)}  # Sequence length -> max_predictions tried.


@functools.lru_cache(maxsize=None)
def masker(length, max_predictions):
  """mask_tokens jitted once per shape; the rate is traced, so it needs no recompile."""
  del length  # (The cache key: one program per sequence length.)
  return jax.jit(lambda rng, tokens, rate: masking.mask_tokens(
      rng, tokens, rate=rate, vocab_size=VOCAB, max_predictions=max_predictions, special=vocab.SENTENCEPIECE))


@st.composite
def token_batches(draw):
  """(tokens int32 [ROWS, T], max_predictions): any ids, specials anywhere, padded tails."""
  length = draw(st.sampled_from(sorted(SHAPES)))
  k = draw(st.sampled_from(SHAPES[length]))
  ids = st.one_of(st.integers(0, tok.NUM_SPECIAL - 1), st.integers(tok.NUM_SPECIAL, VOCAB - 1))
  tokens = draw(hnp.arrays(np.int32, (ROWS, length), elements=ids))
  for row, n in enumerate(draw(st.lists(st.integers(0, length), min_size=ROWS, max_size=ROWS))):
    tokens[row, n:] = tok.PAD_ID  # A padded tail: n real positions.
  return tokens, k


@given(batch=token_batches(), rate=st.one_of(st.sampled_from([0.0, 0.15, 0.5, 1.0]),
                                             st.floats(0, 1, width=32)),
       seed=st.integers(0, 2**32 - 1))
@CHEAP
def test_masking_invariants(batch, rate, seed):
  tokens, k = batch
  out = masker(tokens.shape[1], k)(jax.random.PRNGKey(seed), jnp.asarray(tokens), np.float32(rate))
  inputs, positions, targets, weights = map(np.asarray, jax.device_get(out))
  assert inputs.shape == tokens.shape and positions.shape == targets.shape == weights.shape
  assert weights.shape == (ROWS, k)
  for row in range(ROWS):
    candidates = int((tokens[row] >= tok.NUM_SPECIAL).sum())
    # round(rate x candidates) in float32, as computed; at least 1 if any; at most k.
    n = int(np.round(np.float32(candidates) * np.float32(rate)))
    n = min(max(n, min(candidates, 1)), k)
    assert weights[row].tolist() == [1.0] * n + [0.0] * (k - n)  # Weights only where picked.
    picked = positions[row, :n]
    assert len(set(picked.tolist())) == n  # Distinct positions ...
    assert (tokens[row, picked] >= tok.NUM_SPECIAL).all()  # ... never a special or pad token.
    np.testing.assert_array_equal(targets[row], tokens[row, positions[row]])
    outside = np.ones(tokens.shape[1], bool)
    outside[picked] = False
    np.testing.assert_array_equal(inputs[row, outside], tokens[row, outside])
    new = inputs[row, picked]
    assert ((new == tok.MASK_ID) | ((new >= tok.NUM_SPECIAL) & (new < VOCAB))).all()
