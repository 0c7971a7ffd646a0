"""Transformer encoder: pre-LayerNorm blocks, learned positions, a padding mask."""

from __future__ import annotations

import flax.linen as nn

from textcls_jax.models import common


class Block(nn.Module):
  num_heads: int
  mlp_dim: int
  dropout: float
  attention_dropout: float
  dtype: object

  @nn.compact
  def __call__(self, x, attn_mask, train: bool):
    h = nn.LayerNorm(dtype=self.dtype, name='ln_attn')(x)
    h = nn.MultiHeadDotProductAttention(
        num_heads=self.num_heads, dtype=self.dtype, dropout_rate=self.attention_dropout,
        deterministic=not train, name='attn')(h, h, mask=attn_mask)
    x = x + nn.Dropout(self.dropout)(h, deterministic=not train)
    h = nn.LayerNorm(dtype=self.dtype, name='ln_mlp')(x)
    h = nn.Dense(self.mlp_dim, dtype=self.dtype, name='mlp_in')(h)
    h = nn.Dense(x.shape[-1], dtype=self.dtype, name='mlp_out')(nn.gelu(h))
    return x + nn.Dropout(self.dropout)(h, deterministic=not train)


class TransformerEncoder(nn.Module):
  """tokens int32 [B, T], mask bool [B, T] -> (sequence [B, T, H], pooled [B, H]), H = hidden_dim.

  Padding keys are masked out of attention; pooling is the [CLS] position ('cls'), the mean or the
  max over valid positions ('mean', 'max').

  embed_norm: LayerNorm the sum of token and position embeddings (as BERT does) before the first
  block. Without it the 0.02-scale embeddings are dwarfed by the first block's O(1) output, which
  at initialization is a near-uniform average over the sequence, so every position starts out
  looking alike. With it MLM pretraining learns faster once past its unigram plateau (README.md,
  "Pretraining, then fine-tuning").
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
  dtype: str = 'float32'

  def setup(self):
    dtype = common.compute_dtype(self.dtype)
    init = nn.initializers.normal(stddev=0.02)
    self.embed = nn.Embed(self.vocab_size, self.hidden_dim, dtype=dtype, embedding_init=init,
                          name='embed')
    self.pos_embed = self.param('pos_embed', init, (self.max_len, self.hidden_dim))
    self.blocks = [Block(self.num_heads, self.mlp_dim, self.dropout, self.attention_dropout, dtype,
                         name=f'block_{i}') for i in range(self.num_layers)]
    self.embed_ln = nn.LayerNorm(dtype=dtype, name='ln_embed') if self.embed_norm else None
    self.final_ln = nn.LayerNorm(dtype=dtype, name='ln_final')
    self.drop = nn.Dropout(self.dropout)

  def __call__(self, tokens, mask, train: bool = False):
    length = tokens.shape[1]
    if length > self.max_len:
      raise ValueError(f'sequence length {length} exceeds model.max_len {self.max_len}')
    x = self.embed(tokens) + self.pos_embed[None, :length].astype(self.embed.dtype)
    if self.embed_ln is not None:
      x = self.embed_ln(x)
    x = self.drop(x, deterministic=not train)
    attn_mask = nn.make_attention_mask(mask, mask)
    for block in self.blocks:
      x = block(x, attn_mask, train)
    x = self.final_ln(x) * mask[..., None].astype(x.dtype)
    return x, common.pool(x, mask, self.pooling)

  def token_embedding(self):
    return self.embed
