"""Transformer encoder: pre-LayerNorm blocks (or BERT's post-LayerNorm ones), learned positions,
a padding mask."""

from __future__ import annotations

import functools
from typing import Optional

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from textcls_jax.models import attention
from textcls_jax.models import common
from textcls_jax.models import lora as lora_lib


class _ProjectionParams(nn.Module):
  """The kernel [*in, *out] and bias [*out] of an `nn.DenseGeneral(out, axis=in)`, by the same
  names and initializers, so they are drawn from the same keys as DenseGeneral draws them; and
  with lora_rank > 0 a low-rank adapter (lora.adapter_params: a [in, r], b [r, out], flattened),
  else None."""
  in_shape: tuple
  out_shape: tuple
  lora_rank: int = 0

  @nn.compact
  def __call__(self):
    def kernel_init(rng, shape, dtype):  # DenseGeneral draws a 2-D kernel, then reshapes it.
      flat = (int(np.prod(self.in_shape)), int(np.prod(self.out_shape)))
      return nn.initializers.lecun_normal()(rng, flat, dtype).reshape(shape)
    kernel = self.param('kernel', kernel_init, self.in_shape + self.out_shape, jnp.float32)
    bias = self.param('bias', nn.initializers.zeros_init(), self.out_shape, jnp.float32)
    adapter = (lora_lib.adapter_params(self, int(np.prod(self.in_shape)),
                                       int(np.prod(self.out_shape)), self.lora_rank)
               if self.lora_rank else None)
    return kernel, bias, adapter


class SelfAttention(nn.Module):
  """x [B, T, M], key_bias [B, 1, 1, T] (0 for a valid key, a large negative for padding) ->
  [B, T, M], or [B, 1, M] with `first_only`: position 0's output alone (its query attends to all
  T keys), the same numbers as row 0 of the full output.

  The math, parameters (query, key, value, out) and initialization of flax's
  `MultiHeadDotProductAttention` (scaled dot products, softmax, dropout on the weights broadcast
  over batch and heads, drawn from the same key), computed in the [B, heads, T, head_dim] layout
  with one matmul for the input projections: XLA:CPU runs the attention's batched matmuls about 4x
  faster with the batch dimensions leading (jax 0.10.2, 2 CPU cores, 2026-12-01: scores, softmax
  and weighted sum at batch 64, 128 tokens, 4 heads of 64 took 63 ms in [B, T, H, D], 15 ms in
  [B, H, T, D]). Padding queries attend to the valid keys instead of to none; their outputs never
  reach a valid position. The scores, softmax and weighted sum are attention.attend's, by `impl`.

  lora: low-rank adapters on lora.targets (models/lora.py), added beside the frozen product as
  (x A) B * scale, so that no [M, M] weight gradient is formed for an adapted projection.
  """
  num_heads: int
  dropout_rate: float
  dtype: object
  lora: Optional[lora_lib.LoRA] = None
  impl: str = 'auto'  # models/attention.py's implementations.

  @nn.compact
  def __call__(self, x, key_bias, train: bool, first_only: bool = False):
    features = x.shape[-1]
    heads, head_dim = self.num_heads, features // self.num_heads
    adapted = set(self.lora.targets) if self.lora else set()
    rank = lambda name: self.lora.rank if name in adapted else 0
    params = {name: _ProjectionParams((features,), (heads, head_dim), rank(name), name=name)()
              for name in ('query', 'key', 'value')}

    def low_rank(rows2d, adapter):
      """rows2d [N, in] -> the adapter's term [N, out], in the compute dtype."""
      a, b = adapter
      scale = jnp.asarray(self.lora.scale, self.dtype)
      return ((rows2d @ a.astype(self.dtype)) @ b.astype(self.dtype)) * scale

    def project(rows, names):
      """rows [B, T', M] -> [len(names), B, heads, T', D]. One plain [B*T', M] x [M, n*M] matmul,
      then a transpose: XLA:CPU runs a 2-D matmul at full speed, and a 5-D einsum at half of it."""
      kernel = jnp.concatenate([params[n][0].reshape(features, features) for n in names], axis=1)
      bias = jnp.concatenate([params[n][1].reshape(features) for n in names])
      b, t = rows.shape[:2]
      rows2d = rows.reshape(b * t, features)
      out = rows2d @ kernel.astype(self.dtype) + bias.astype(self.dtype)
      if any(params[n][2] is not None for n in names):
        out = out + jnp.concatenate(
            [low_rank(rows2d, params[n][2]) if params[n][2] is not None else
             jnp.zeros((b * t, features), self.dtype) for n in names], axis=1)
      return out.reshape(b, t, len(names), heads, head_dim).transpose(2, 0, 3, 1, 4)

    if first_only:
      (query,), (key, value) = project(x[:, :1], ['query']), project(x, ['key', 'value'])
    else:
      query, key, value = project(x, ['query', 'key', 'value'])
    dropout = train and self.dropout_rate > 0.0
    # The full [T, T] dropout mask is drawn (full_length), so that row 0 is the same in both forms.
    context = attention.attend(query, key, value, key_bias, impl=self.impl,
                               dropout_rate=self.dropout_rate if dropout else 0.0,
                               dropout_rng=self.make_rng('dropout') if dropout else None,
                               full_length=x.shape[1])
    b, rows = x.shape[0], query.shape[2]
    context = context.reshape(b * rows, features)
    out_kernel, out_bias, out_adapter = _ProjectionParams((heads, head_dim), (features,),
                                                          rank('out'), name='out')()
    out = context @ out_kernel.reshape(features, features).astype(self.dtype)
    if out_adapter is not None:
      out = out + low_rank(context, out_adapter)
    return (out + out_bias.astype(self.dtype)).reshape(b, rows, features)


class _Dropout(nn.Module):
  """`nn.Dropout` (the same key, mask and math) over x [B, T', M], the first T' positions of a
  [B, T, M] tensor: the mask is drawn for all of `full_shape` and cut alike, so that a position
  keeps the mask it has in the full sequence."""
  rate: float

  @nn.compact
  def __call__(self, x, full_shape, train: bool):
    if not train or self.rate == 0.0:
      return x
    if self.rate == 1.0:
      return jnp.zeros_like(x)
    keep_prob = 1.0 - self.rate
    keep = jax.random.bernoulli(self.make_rng('dropout'), p=keep_prob, shape=full_shape)
    return jax.lax.select(keep[:, :x.shape[1]], x / keep_prob, jnp.zeros_like(x))


def padding_bias(mask, dtype):
  """mask bool [B, T] -> additive attention bias [B, 1, 1, T]: 0 on valid keys, the dtype's
  minimum on padding keys (as flax's masking)."""
  return jnp.where(mask, 0.0, jnp.finfo(dtype).min).astype(dtype)[:, None, None, :]


ACTIVATIONS = {'gelu_tanh': functools.partial(nn.gelu, approximate=True),  # flax's nn.gelu.
               'gelu': functools.partial(nn.gelu, approximate=False)}  # Exact (erf), BERT's.


class Block(nn.Module):
  """x [B, T, M] -> [B, T, M] (the dtype of x), or [B, 1, M] with `first_only` (position 0 alone;
  SelfAttention).

  norm 'pre': x + attn(LN(x)), then x + mlp(LN(x)). 'post' (BERT): LN(x + attn(x)), then
  LN(x + mlp(x)). The same parameters by the same names in both.
  """
  num_heads: int
  mlp_dim: int
  dropout: float
  attention_dropout: float
  dtype: object
  norm: str = 'pre'
  activation: str = 'gelu_tanh'
  layer_norm_eps: float = 1e-6
  lora: Optional[lora_lib.LoRA] = None
  attention_impl: str = 'auto'

  @nn.compact
  def __call__(self, x, key_bias, train: bool, first_only: bool = False):
    full_shape = x.shape
    ln_attn = nn.LayerNorm(epsilon=self.layer_norm_eps, dtype=self.dtype, name='ln_attn')
    ln_mlp = nn.LayerNorm(epsilon=self.layer_norm_eps, dtype=self.dtype, name='ln_mlp')
    attn = SelfAttention(self.num_heads, self.attention_dropout, self.dtype, self.lora,
                         self.attention_impl, name='attn')
    mlp_in = nn.Dense(self.mlp_dim, dtype=self.dtype, name='mlp_in')
    mlp_out = nn.Dense(x.shape[-1], dtype=self.dtype, name='mlp_out')
    mlp = lambda h: mlp_out(ACTIVATIONS[self.activation](mlp_in(h)))
    drop_attn, drop_mlp = _Dropout(self.dropout, name='Dropout_0'), _Dropout(self.dropout,
                                                                             name='Dropout_1')
    if self.norm == 'post':
      h = attn(x, key_bias, train, first_only)
      x = ln_attn(x[:, :h.shape[1]] + drop_attn(h, full_shape, train))
      return ln_mlp(x + drop_mlp(mlp(x), full_shape, train))
    h = attn(ln_attn(x), key_bias, train, first_only)
    x = x[:, :h.shape[1]] + drop_attn(h, full_shape, train)
    return x + drop_mlp(mlp(ln_mlp(x)), full_shape, train)


class TransformerEncoder(nn.Module):
  """tokens int32 [B, T], mask bool [B, T] -> (sequence [B, T, H], pooled [B, H]), H = hidden_dim,
  both in the compute dtype (`dtype`; parameters are float32). Sequence states at padding are 0.

  Padding keys are masked out of attention; pooling is the [CLS] position ('cls'), the mean or the
  max over valid positions ('mean', 'max'). With `sequence=False` the sequence comes back as None,
  and with 'cls' pooling the last block computes position 0 alone (its keys and values still span
  the sequence): the same pooled numbers for about a fifth fewer FLOPs in a 4-layer encoder (in
  either block_norm: after attention every step is per position).

  embed_norm: LayerNorm the sum of token and position embeddings (as BERT does) before the first
  block. Without it the 0.02-scale embeddings are dwarfed by the first block's O(1) output, which
  at initialization is a near-uniform average over the sequence, so every position starts out
  looking alike. With it MLM pretraining learns faster once past its unigram plateau
  (docs/guides/pretraining.md).

  What a published BERT-family checkpoint needs (models/hf_bert.py maps its config onto these;
  the defaults are this project's own pre-LN encoder):
  block_norm: 'pre' (LayerNorm inside each residual branch, a final LayerNorm on top) or 'post'
    (BERT: LayerNorm after each residual sum, no final LayerNorm). Independent of embed_norm,
    which BERT also sets.
  activation: the MLP's, 'gelu_tanh' (flax's nn.gelu, the tanh approximation) or 'gelu' (exact,
    with erf: BERT's 'gelu').
  type_vocab_size: 0, or > 0 for BERT's token-type embedding [type_vocab_size, E] ('type_embed'):
    the row of each position's token type (`token_types`: sentence pairs) is added to it, row 0
    (one segment) everywhere when no types are given.
  layer_norm_eps: every LayerNorm's epsilon (flax's default 1e-6; BERT's 1e-12).
  pooler: BERT's pooler on top of `pooling`: pooled = tanh(Dense_H(pooled)) ('pooler').
  embed_dim: 0 (embeddings as wide as hidden_dim), or the width E of the token, position and type
    embeddings (and of ln_embed), projected to hidden_dim by a Dense ('embed_proj') after their
    dropout: ELECTRA's embedding_size.

  attention_impl: how attention is computed (models/attention.py): 'auto' (by backend), 'einsum'
    (XLA:CPU's fastest layout, with attention dropout), 'xla' or 'cudnn' (jax.nn's fused
    attention; no attention dropout). The same parameters and function in each.

  lora: None, or low-rank adapters on every block's attention projections (models/lora.py; set
  from config.finetune, not config.model: the encoder is the pretrained one plus adapters).
  """
  vocab_size: int
  hidden_dim: int = 256
  num_layers: int = 4
  num_heads: int = 4
  mlp_dim: int = 1024
  max_len: int = 128
  dropout: float = 0.1
  attention_dropout: float = 0.1
  pooling: str = 'cls'
  embed_norm: bool = False
  block_norm: str = 'pre'
  activation: str = 'gelu_tanh'
  type_vocab_size: int = 0
  layer_norm_eps: float = 1e-6
  pooler: bool = False
  embed_dim: int = 0
  dtype: str = 'float32'
  attention_impl: str = 'auto'
  # Another module's token embedding to use instead of one of its own (an ELECTRA generator
  # shares its discriminator's); None makes its own.
  token_embed: Optional[nn.Module] = None
  lora: Optional[lora_lib.LoRA] = None

  def setup(self):
    dtype = common.compute_dtype(self.dtype)
    init = nn.initializers.normal(stddev=0.02)
    width = self.embed_dim or self.hidden_dim
    layer_norm = functools.partial(nn.LayerNorm, epsilon=self.layer_norm_eps, dtype=dtype)
    self.embed = (self.token_embed if self.token_embed is not None else
                  nn.Embed(self.vocab_size, width, dtype=dtype, embedding_init=init,
                           name='embed'))
    self.pos_embed = self.param('pos_embed', init, (self.max_len, width))
    self.type_embed = (self.param('type_embed', init, (self.type_vocab_size, width))
                       if self.type_vocab_size else None)
    self.embed_proj = (nn.Dense(self.hidden_dim, dtype=dtype, name='embed_proj')
                       if self.embed_dim else None)
    self.blocks = [Block(self.num_heads, self.mlp_dim, self.dropout, self.attention_dropout, dtype,
                         self.block_norm, self.activation, self.layer_norm_eps, self.lora,
                         self.attention_impl, name=f'block_{i}')
                   for i in range(self.num_layers)]
    self.embed_ln = layer_norm(name='ln_embed') if self.embed_norm else None
    self.final_ln = layer_norm(name='ln_final') if self.block_norm == 'pre' else None
    self.pooler_dense = (nn.Dense(self.hidden_dim, dtype=dtype, name='pooler') if self.pooler
                         else None)
    self.drop = nn.Dropout(self.dropout)

  def __call__(self, tokens, mask, train: bool = False, sequence: bool = True,
               token_types=None):
    """token_types: None, or int32 [B, T] rows of type_embed (sentence pairs: 0, then 1)."""
    length = tokens.shape[1]
    if length > self.max_len:
      raise ValueError(f'sequence length {length} exceeds model.max_len {self.max_len}')
    x = self.embed(tokens) + self.pos_embed[None, :length].astype(self.embed.dtype)
    if token_types is not None and self.type_embed is None:
      raise ValueError('token types given to an encoder without token-type embeddings '
                       '(model.type_vocab_size=0)')
    if self.type_embed is not None and token_types is None:  # Segment 0 everywhere.
      x = x + self.type_embed[0].astype(self.embed.dtype)
    elif self.type_embed is not None:
      x = x + jnp.take(self.type_embed, token_types, axis=0).astype(self.embed.dtype)
    if self.embed_ln is not None:
      x = self.embed_ln(x)
    x = self.drop(x, deterministic=not train)
    if self.embed_proj is not None:
      x = self.embed_proj(x)
    key_bias = padding_bias(mask, x.dtype)
    first_only = not sequence and self.pooling == 'cls'
    for i, block in enumerate(self.blocks):
      x = block(x, key_bias, train, first_only=first_only and i + 1 == len(self.blocks))
    mask = mask[:, :x.shape[1]]
    if self.final_ln is not None:
      x = self.final_ln(x)
    x = x * mask[..., None].astype(x.dtype)
    pooled = common.pool(x, mask, self.pooling)
    if self.pooler_dense is not None:
      pooled = jnp.tanh(self.pooler_dense(pooled))
    return (x if sequence else None), pooled
