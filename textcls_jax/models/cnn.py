"""Convolutional encoder (Kim 2014, and deeper stacks): a state per position, pooled over valid ones."""

from __future__ import annotations

from typing import Optional, Sequence

import flax.linen as nn
import jax.numpy as jnp

from textcls_jax.models import common


class CNNEncoder(nn.Module):
  """tokens int32 [B, T], mask bool [B, T] -> (sequence [B, T, H], pooled [B, H]).

  Each block applies one convolution per filter width ('SAME' padding, ReLU) and concatenates them,
  so H = num_filters * len(filter_widths). Padding positions are zeroed before every convolution,
  which makes a padded sequence see exactly the zero padding an unpadded one sees.
  num_layers > 1 stacks blocks with residual connections. Pooling is max-over-time on valid positions.
  """
  vocab_size: int
  embed_dim: int = 256
  filter_widths: Sequence[int] = (3, 4, 5)
  num_filters: int = 100
  num_layers: int = 1
  dropout: float = 0.5
  pooling: str = 'max'
  dtype: str = 'float32'
  # Another module's token embedding to use instead of one of its own (an ELECTRA generator
  # shares its discriminator's); None makes its own.
  token_embed: Optional[nn.Module] = None

  def setup(self):
    dtype = common.compute_dtype(self.dtype)
    self.embed = (self.token_embed if self.token_embed is not None else
                  nn.Embed(self.vocab_size, self.embed_dim, dtype=dtype,
                           embedding_init=nn.initializers.normal(stddev=0.1), name='embed'))
    self.convs = [[nn.Conv(self.num_filters, (w,), padding='SAME', dtype=dtype,
                           name=f'conv_{layer}_w{w}') for w in self.filter_widths]
                  for layer in range(self.num_layers)]
    self.drop = nn.Dropout(self.dropout)

  def __call__(self, tokens, mask, train: bool = False, sequence: bool = True):
    m = mask[..., None]
    x = self.embed(tokens)
    for layer, convs in enumerate(self.convs):
      x = jnp.where(m, x, 0)
      h = jnp.concatenate([nn.relu(conv(x)) for conv in convs], axis=-1)
      if layer > 0:
        h = self.drop(h, deterministic=not train) + x
      x = h
    x = jnp.where(m, x, 0)
    return (x if sequence else None), common.pool(x, mask, self.pooling)
