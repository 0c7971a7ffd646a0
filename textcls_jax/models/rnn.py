"""Recurrent encoder: embeddings -> stacked (bi)LSTM/GRU -> masked pooling."""

from __future__ import annotations

from typing import Optional

import flax.linen as nn
import jax.numpy as jnp

from textcls_jax.models import common
from textcls_jax.models import lstm

_CELLS = {'lstm': lstm.FusedGateLSTMCell, 'gru': nn.GRUCell}


class RNNEncoder(nn.Module):
  """tokens int32 [B, T], mask bool [B, T] -> (sequence [B, T, H], pooled [B, H]).

  H is hidden_dim, doubled when bidirectional. The backward direction starts at each sequence's own
  last valid token (flax's seq_lengths), so padding never changes a result.
  """
  vocab_size: int
  embed_dim: int = 256
  hidden_dim: int = 256
  num_layers: int = 1
  cell: str = 'lstm'
  bidirectional: bool = True
  dropout: float = 0.1
  pooling: str = 'max'
  dtype: str = 'float32'
  # Another module's token embedding to use instead of one of its own (an ELECTRA generator
  # shares its discriminator's); None makes its own.
  token_embed: Optional[nn.Module] = None

  def setup(self):
    if self.cell not in _CELLS:
      raise ValueError(f'unknown model.cell {self.cell!r}; choose from {", ".join(_CELLS)}')
    dtype = common.compute_dtype(self.dtype)
    self.embed = (self.token_embed if self.token_embed is not None else
                  nn.Embed(self.vocab_size, self.embed_dim, dtype=dtype,
                           embedding_init=nn.initializers.normal(stddev=0.1), name='embed'))
    layers = []
    for i in range(self.num_layers):
      make = lambda name: nn.RNN(_CELLS[self.cell](self.hidden_dim, dtype=dtype), name=name)
      if self.bidirectional:
        layers.append(nn.Bidirectional(make(f'fwd_{i}'), make(f'bwd_{i}'), name=f'layer_{i}'))
      else:
        layers.append(make(f'layer_{i}'))
    self.layers = layers
    self.drop = nn.Dropout(self.dropout)

  def __call__(self, tokens, mask, train: bool = False, sequence: bool = True):
    x = self.drop(self.embed(tokens), deterministic=not train)
    lengths = mask.sum(-1).astype(jnp.int32)
    for i, layer in enumerate(self.layers):
      x = layer(x, seq_lengths=lengths)
      if i + 1 < len(self.layers):
        x = self.drop(x, deterministic=not train)
    x = x * mask[..., None].astype(x.dtype)
    return (x if sequence else None), common.pool(x, mask, self.pooling)
