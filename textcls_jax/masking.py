"""Dynamic masking for the masked-language-model objective, as a pure JAX function.

It runs inside the jitted step with a key folded from (seed, step), so every time a sequence is seen
it gets fresh masks, and a resumed run draws exactly the masks the uninterrupted run would have.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from textcls_jax.data import tokenizer as tok


def num_predictions(seq_len: int, rate: float) -> int:
  """Gathered positions per sequence: enough for `rate` of a full sequence, at least 1."""
  return max(1, int(round(seq_len * rate)))


def mask_tokens(rng, tokens, *, rate: float = 0.15, mask_fraction: float = 0.8,
                random_fraction: float = 0.1, vocab_size: int, max_predictions: int):
  """Picks and corrupts MLM positions.

  Args:
    rng: a PRNG key.
    tokens: int32 [B, T]; ids below tok.NUM_SPECIAL (pad, unk, [CLS], [MASK]) are never picked.
    rate: the fraction of each sequence's candidate tokens to pick (rounded; at least one when the
      sequence has a candidate), at most `max_predictions`.
    mask_fraction, random_fraction: of the picked positions, the share replaced by [MASK] and by a
      random non-special token; the rest keep their token (BERT's 80/10/10 by default).
  Returns:
    inputs int32 [B, T] (the corrupted tokens), positions int32 [B, K], targets int32 [B, K] (the
    original tokens there) and weights float32 [B, K] (1 for a picked position, 0 for filler),
    with K = max_predictions.
  """
  pick_rng, kind_rng, random_rng = jax.random.split(rng, 3)
  batch, _ = tokens.shape
  candidates = tokens >= tok.NUM_SPECIAL
  scores = jnp.where(candidates, jax.random.uniform(pick_rng, tokens.shape), -1.0)
  top_scores, positions = jax.lax.top_k(scores, max_predictions)
  n_pick = jnp.round(candidates.sum(-1) * rate).astype(jnp.int32)
  n_pick = jnp.clip(n_pick, jnp.minimum(candidates.sum(-1), 1), max_predictions)
  weights = (jnp.arange(max_predictions)[None, :] < n_pick[:, None]) & (top_scores >= 0)
  rows = jnp.arange(batch)[:, None]
  targets = tokens[rows, positions]

  kind = jax.random.uniform(kind_rng, positions.shape)
  random_tokens = jax.random.randint(random_rng, positions.shape, tok.NUM_SPECIAL, vocab_size)
  replacement = jnp.where(kind < mask_fraction, tok.MASK_ID,
                          jnp.where(kind < mask_fraction + random_fraction, random_tokens, targets))
  replacement = jnp.where(weights, replacement, targets)
  inputs = tokens.at[rows, positions].set(replacement)
  return inputs, positions.astype(jnp.int32), targets, weights.astype(jnp.float32)
