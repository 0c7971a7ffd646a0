"""Task heads on top of an encoder."""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp


class ClassificationHead(nn.Module):
  """pooled [B, H] -> logits float32 [B, num_classes]: dropout, optional tanh hidden layer, Dense."""
  num_classes: int
  hidden_dim: int = 0
  dropout: float = 0.1

  @nn.compact
  def __call__(self, pooled, train: bool = False):
    x = nn.Dropout(self.dropout)(pooled, deterministic=not train)
    if self.hidden_dim:
      x = nn.tanh(nn.Dense(self.hidden_dim, dtype=pooled.dtype, name='hidden')(x))
      x = nn.Dropout(self.dropout)(x, deterministic=not train)
    return nn.Dense(self.num_classes, dtype=jnp.float32, name='out')(x).astype(jnp.float32)


class Classifier(nn.Module):
  """An encoder and a classification head: tokens int32 [B, T] -> logits float32 [B, C].

  The mask is derived from the tokens (PAD is id 0), so callers pass tokens only.
  """
  encoder: nn.Module
  head: ClassificationHead

  def __call__(self, tokens, train: bool = False):
    from textcls_jax.data.tokenizer import PAD_ID
    mask = tokens != PAD_ID
    _, pooled = self.encoder(tokens, mask, train=train)
    return self.head(pooled, train=train)
