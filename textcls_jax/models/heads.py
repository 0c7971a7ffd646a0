"""Task heads on top of an encoder."""

from __future__ import annotations

import dataclasses

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

  The mask is derived from the tokens (`pad_id`: the tokenizer's [PAD], which build_for_task
  passes), so callers pass tokens only, and for sentence pairs their token types int32 [B, T]
  (0 for the first text, 1 for the second), which only an encoder with token-type embeddings
  takes.
  """
  encoder: nn.Module
  head: ClassificationHead
  pad_id: int = 0

  def __call__(self, tokens, train: bool = False, token_types=None):
    mask = tokens != self.pad_id
    pairs = {} if token_types is None else {'token_types': token_types}
    _, pooled = self.encoder(tokens, mask, train=train, sequence=False, **pairs)
    return self.head(pooled, train=train)


class MLMHead(nn.Module):
  """Gathered states [B, K, H] -> logits float32 [B, K, V].

  Dense to the embedding width, GELU, LayerNorm, then the output projection: the token embedding's
  transpose when `embedding` is given (tied), else a Dense of its own.
  """
  vocab_size: int
  embed_dim: int

  @nn.compact
  def __call__(self, states, embedding=None):
    x = nn.Dense(self.embed_dim, dtype=states.dtype, name='transform')(states)
    x = nn.LayerNorm(dtype=states.dtype, name='ln')(nn.gelu(x))
    if embedding is not None:
      logits = embedding.attend(x)
    else:
      logits = nn.Dense(self.vocab_size, use_bias=False, dtype=states.dtype, name='decoder')(x)
    bias = self.param('output_bias', nn.initializers.zeros, (self.vocab_size,))
    return logits.astype(jnp.float32) + bias


class MaskedLM(nn.Module):
  """An encoder with an MLM head: tokens int32 [B, T], positions int32 [B, K] -> logits [B, K, V].

  Only the K gathered positions are projected onto the vocabulary (not all T). pad_id: the
  tokenizer's [PAD], where the padding mask comes from.
  """
  encoder: nn.Module
  head: MLMHead
  tie_embeddings: bool = True
  pad_id: int = 0

  def __call__(self, tokens, positions, train: bool = False):
    sequence, _ = self.encoder(tokens, tokens != self.pad_id, train=train)
    gathered = jnp.take_along_axis(sequence, positions[..., None], axis=1)
    return self.head(gathered, self.encoder.embed if self.tie_embeddings else None)


class DiscriminatorHead(nn.Module):
  """states [B, T, H] -> logits float32 [B, T], one per position (> 0: replaced): Dense to H,
  GELU, Dense to one score (ELECTRA's discriminator head)."""

  @nn.compact
  def __call__(self, states):
    x = nn.gelu(nn.Dense(states.shape[-1], dtype=states.dtype, name='transform')(states))
    return nn.Dense(1, dtype=jnp.float32, name='out')(x)[..., 0].astype(jnp.float32)


class ReplacedTokenDetector(nn.Module):
  """ELECTRA's pair: a small masked-LM generator proposes tokens for the masked positions, and the
  discriminator (`encoder`, what init_from transfers) tells every position original or replaced.

  The generator is an encoder of the discriminator's family and class with `generator_fields`
  changed (smaller), reading the discriminator's token embedding (shared, so the embedding is
  stored once, under encoder/embed) and projecting onto the vocabulary through it.

  generate: masked tokens int32 [B, T], positions int32 [B, K] -> logits float32 [B, K, V].
  discriminate: tokens int32 [B, T] -> logits float32 [B, T].
  __call__ runs both (it exists so that `init` makes every parameter).
  """
  encoder: nn.Module
  generator_fields: tuple = ()  # ((field, value), ...): how the generator's encoder differs.
  embed_dim: int = 256
  pad_id: int = 0  # The tokenizer's [PAD]: where the padding mask comes from.

  def setup(self):
    fields = {f.name: getattr(self.encoder, f.name) for f in dataclasses.fields(self.encoder)
              if f.name not in ('parent', 'name')}
    fields.update(dict(self.generator_fields), token_embed=self.encoder.embed)
    self.generator = MaskedLM(
        encoder=type(self.encoder)(**fields),
        head=MLMHead(vocab_size=self.encoder.vocab_size, embed_dim=self.embed_dim),
        tie_embeddings=True, pad_id=self.pad_id)
    self.discriminator_head = DiscriminatorHead()

  def generate(self, tokens, positions, train: bool = False):
    return self.generator(tokens, positions, train=train)

  def discriminate(self, tokens, train: bool = False):
    sequence, _ = self.encoder(tokens, tokens != self.pad_id, train=train)
    return self.discriminator_head(sequence)

  def __call__(self, tokens, positions, train: bool = False):
    return self.generate(tokens, positions, train), self.discriminate(tokens, train)
