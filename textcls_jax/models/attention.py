"""Scaled dot-product attention: the one function every attention call goes through, with an
implementation per backend (`model.attention_impl`).

- 'einsum': scores, softmax in float32 and the weighted sum as two batched matmuls in the
  [B, heads, T, D] layout, with attention dropout. XLA:CPU runs this layout about 4x faster than
  [B, T, heads, D] (transformer.SelfAttention's docstring has the measurement).
- 'xla' and 'cudnn': `jax.nn.dot_product_attention` with that implementation (cuDNN's fused flash
  attention on an NVIDIA GPU, for bfloat16 or float16; 'xla' runs anywhere and is what tests
  compare on CPU). It has no dropout: with attention dropout active (training, rate > 0) they
  refuse, and 'auto' picks 'einsum'.
- 'auto': 'cudnn' on a GPU for a bfloat16 or float16 computation without active attention dropout,
  'einsum' otherwise.
The implementations compute the same function to float rounding; the parameters do not depend on
the choice, so a checkpoint moves between them.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from textcls_jax import config_base

IMPLEMENTATIONS = config_base.ATTENTION_IMPLEMENTATIONS


def resolve(impl: str, dtype, dropout_active: bool, backend: str | None = None) -> str:
  """The implementation `impl` names for a computation in `dtype` on `backend` (default: JAX's):
  'auto' resolved; ValueError for an unknown name or a dropout the implementation lacks."""
  if impl not in IMPLEMENTATIONS:
    raise ValueError(f'model.attention_impl={impl!r}: choose from {", ".join(IMPLEMENTATIONS)}')
  if impl == 'auto':
    backend = backend or jax.default_backend()
    fused_dtype = jnp.dtype(dtype) in (jnp.dtype(jnp.bfloat16), jnp.dtype(jnp.float16))
    return 'cudnn' if backend == 'gpu' and fused_dtype and not dropout_active else 'einsum'
  if impl != 'einsum' and dropout_active:
    raise ValueError(f"model.attention_impl={impl!r} has no attention dropout: set "
                     "model.attention_dropout=0 or attention_impl 'einsum' or 'auto'")
  return impl


def attend(query, key, value, key_bias, *, impl: str = 'auto', dropout_rate: float = 0.0,
           dropout_rng=None, full_length: int | None = None):
  """Multi-head attention of queries over keys.

  query [B, H, T', D], key and value [B, H, T, D] (T' <= T: the first T' positions' queries),
  key_bias [B, 1, 1, T] added to the scores (0 for a valid key, a large negative for padding), all
  in the compute dtype -> context [B, T', H, D] in that dtype. Scores are scaled by 1/sqrt(D).

  dropout_rate, dropout_rng: attention dropout on the weights, broadcast over batch and heads,
  drawn for the full [T, T] grid (full_length T, default T) and cut to the T' rows, so that a row
  keeps its mask whatever T' is; no dropout with dropout_rng None or rate 0.
  """
  dropout_active = dropout_rng is not None and dropout_rate > 0.0
  impl = resolve(impl, query.dtype, dropout_active)
  if impl == 'einsum':
    return _einsum_attention(query, key, value, key_bias, dropout_rate if dropout_active else 0.0,
                             dropout_rng, full_length or key.shape[2])
  to_btnh = lambda x: x.transpose(0, 2, 1, 3)
  return jax.nn.dot_product_attention(to_btnh(query), to_btnh(key), to_btnh(value),
                                      bias=key_bias, implementation=impl)


def _einsum_attention(query, key, value, key_bias, dropout_rate, dropout_rng, full_length):
  dtype = query.dtype
  query = query / jnp.sqrt(query.shape[-1]).astype(dtype)
  scores = jnp.einsum('bhqd,bhkd->bhqk', query, key) + key_bias.astype(dtype)
  weights = jax.nn.softmax(scores.astype(jnp.float32), axis=-1).astype(dtype)
  if dropout_rate > 0.0:
    keep_prob = 1.0 - dropout_rate
    keep = jax.random.bernoulli(dropout_rng, keep_prob, (1, 1, full_length, full_length))
    keep = keep[:, :, :weights.shape[2]]
    weights = weights * (keep.astype(dtype) / jnp.asarray(keep_prob, dtype))
  return jnp.einsum('bhqk,bhkd->bhqd', weights, value).transpose(0, 2, 1, 3)
