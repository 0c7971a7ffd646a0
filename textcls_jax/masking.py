"""Dynamic masking for the masked-language-model objective, as a pure JAX function.

It runs inside the jitted step with a key folded from (seed, step), so every time a sequence is seen
it gets fresh masks, and a resumed run draws exactly the masks the uninterrupted run would have.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from textcls_jax import vocab


def is_special(tokens, special: vocab.SpecialIds):
  """bool, the shape of `tokens`: where a token is one of the tokenizer's special ids."""
  ids = special.ids
  if ids == tuple(range(len(ids))):  # SentencePiece's 0..3: one comparison.
    return tokens < len(ids)
  out = tokens == ids[0]
  for i in ids[1:]:
    out = out | (tokens == i)
  return out


def num_predictions(seq_len: int, rate: float) -> int:
  """Gathered positions per sequence: enough for `rate` of a full sequence, at least 1."""
  return max(1, int(round(seq_len * rate)))


def mask_tokens(rng, tokens, *, rate: float = 0.15, mask_fraction: float = 0.8,
                random_fraction: float = 0.1, vocab_size: int, max_predictions: int,
                special: vocab.SpecialIds, row_offset=0):
  """Picks and corrupts MLM positions.

  Args:
    rng: a PRNG key. Row i is masked with fold_in(rng, row_offset + i), so a sequence's masks depend
      only on the key and its index in the global batch, not on how the batch is split over devices.
    tokens: int32 [B, T]; the special ids of `special` (pad, unk, [CLS], [SEP], [MASK]: the
      tokenizer's) are never picked.
    rate: the fraction of each sequence's candidate tokens to pick (rounded; at least one when the
      sequence has a candidate), at most `max_predictions`.
    mask_fraction, random_fraction: of the picked positions, the share replaced by [MASK] and by a
      random token above every special id (special.first_regular and up); the rest keep their token
      (BERT's 80/10/10 by default).
    special: the tokenizer's special ids.
    row_offset: the global index of row 0 (under pmap: device index x rows per device).
  Returns:
    inputs int32 [B, T] (the corrupted tokens), positions int32 [B, K], targets int32 [B, K] (the
    original tokens there) and weights float32 [B, K] (1 for a picked position, 0 for filler),
    with K = max_predictions.
  """
  keys = jax.vmap(lambda i: jax.random.fold_in(rng, i))(row_offset + jnp.arange(tokens.shape[0]))
  one = lambda key, row: _mask_row(key, row, rate, mask_fraction, random_fraction, vocab_size,
                                   max_predictions, special)
  return jax.vmap(one)(keys, tokens)


def _mask_row(rng, tokens, rate, mask_fraction, random_fraction, vocab_size, max_predictions,
              special):
  """mask_tokens for one sequence: tokens int32 [T]."""
  pick_rng, kind_rng, random_rng = jax.random.split(rng, 3)
  candidates = ~is_special(tokens, special)
  scores = jnp.where(candidates, jax.random.uniform(pick_rng, tokens.shape), -1.0)
  top_scores, positions = jax.lax.top_k(scores, max_predictions)
  num_candidates = candidates.sum()
  n_pick = jnp.round(num_candidates * rate).astype(jnp.int32)
  n_pick = jnp.clip(n_pick, jnp.minimum(num_candidates, 1), max_predictions)
  weights = (jnp.arange(max_predictions) < n_pick) & (top_scores >= 0)
  targets = tokens[positions]
  kind = jax.random.uniform(kind_rng, positions.shape)
  random_tokens = jax.random.randint(random_rng, positions.shape, special.first_regular,
                                     vocab_size)
  replacement = jnp.where(kind < mask_fraction, special.mask,
                          jnp.where(kind < mask_fraction + random_fraction, random_tokens, targets))
  replacement = jnp.where(weights, replacement, targets)
  inputs = tokens.at[positions].set(replacement)
  return inputs, positions.astype(jnp.int32), targets, weights.astype(jnp.float32)
