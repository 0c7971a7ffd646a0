"""Recurrent encoder: embeddings -> stacked (bi)LSTM/GRU -> masked pooling."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax.linen import recurrent

from textcls_jax.models import common

_CELLS = {'lstm': nn.OptimizedLSTMCell, 'gru': nn.GRUCell}
_GATES = ('i', 'f', 'g', 'o')


class _LSTMParams(nn.Module):
  """flax OptimizedLSTMCell's parameters, by its names, shapes and initializers, concatenated over
  the gates (i, f, g, o): input kernel [E, 4H], recurrent kernel [H, 4H], bias [4H]."""
  features: int

  @nn.compact
  def __call__(self, input_dim: int):
    def dense(name, width, use_bias, init):
      return recurrent.DenseParams(self.features, use_bias=use_bias, kernel_init=init,
                                   name=name)(jnp.zeros((1, width), jnp.float32))
    inputs = [dense(f'i{g}', input_dim, False, nn.initializers.lecun_normal())[0] for g in _GATES]
    hidden = [dense(f'h{g}', self.features, True, nn.initializers.orthogonal()) for g in _GATES]
    return (jnp.concatenate(inputs, axis=-1), jnp.concatenate([k for k, _ in hidden], axis=-1),
            jnp.concatenate([b for _, b in hidden], axis=-1))


def _lstm_forward(projected, kernel):
  """The recurrence: projected [T, B, 4H] (input projection + bias), kernel [H, 4H] ->
  (states h [T, B, H], what the gradient needs: gates [T, B, 4H] activated, cells c [T, B, H])."""
  hidden = kernel.shape[0]

  def step(carry, z):
    c, h = carry
    i, f, g, o = jnp.split(z + h @ kernel, 4, axis=-1)
    i, f, g, o = jax.nn.sigmoid(i), jax.nn.sigmoid(f), jnp.tanh(g), jax.nn.sigmoid(o)
    c = f * c + i * g
    h = o * jnp.tanh(c)
    return (c, h), (h, jnp.concatenate([i, f, g, o], -1), c)

  zeros = jnp.zeros(projected.shape[1:2] + (hidden,), projected.dtype)
  _, (states, gates, cells) = jax.lax.scan(step, (zeros, zeros), projected)
  return states, gates, cells


@jax.custom_vjp
def lstm_recurrence(projected, kernel):
  """projected [T, B, 4H] float, kernel [H, 4H] -> states [T, B, H] (zero initial state).

  Its gradient is the exact LSTM gradient, computed by a backward scan that emits each step's gate
  gradients, followed by ONE [H, T*B] x [T*B, 4H] matmul for the recurrent kernel's gradient
  (autodiff of the scan would add up T small per-step products inside the loop instead).
  """
  return _lstm_forward(projected, kernel)[0]


def _lstm_recurrence_fwd(projected, kernel):
  states, gates, cells = _lstm_forward(projected, kernel)
  return states, (kernel, states, gates, cells)


def _lstm_recurrence_bwd(residuals, d_states):
  kernel, states, gates, cells = residuals
  zeros = jnp.zeros_like(states[0])
  prev_cells = jnp.concatenate([zeros[None], cells[:-1]])

  def step(carry, xs):
    dh_next, dc_next = carry
    d_out, gate, c, c_prev = xs
    i, f, g, o = jnp.split(gate, 4, axis=-1)
    dh = d_out + dh_next
    tanh_c = jnp.tanh(c)
    dc = dc_next + dh * o * (1 - tanh_c * tanh_c)
    dz = jnp.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                          dc * i * (1 - g * g), dh * tanh_c * o * (1 - o)], -1)
    return (dz @ kernel.T, dc * f), dz

  _, d_projected = jax.lax.scan(step, (zeros, zeros), (d_states, gates, cells, prev_cells),
                                reverse=True)
  prev_states = jnp.concatenate([zeros[None], states[:-1]])
  d_kernel = jnp.einsum('tbh,tbg->hg', prev_states, d_projected)
  return d_projected, d_kernel


lstm_recurrence.defvjp(_lstm_recurrence_fwd, _lstm_recurrence_bwd)


class LSTM(nn.Module):
  """One direction of an LSTM: x [B, T, E], lengths int32 [B] -> states [B, T, H].

  The math and parameters of `nn.RNN(nn.OptimizedLSTMCell(H))` (reverse: the sequence is read
  backwards from each row's own last valid token, as flax's `seq_lengths` does), computed with the
  input projection of every time step as one matmul before the scan, so that each step does only
  the recurrent [B, H] x [H, 4H] product, and a hand-written gradient (`lstm_recurrence`).
  """
  features: int
  reverse: bool = False
  dtype: object = jnp.float32

  @nn.compact
  def __call__(self, x, lengths):
    input_kernel, kernel, bias = _LSTMParams(self.features, name='cell')(x.shape[-1])
    if self.reverse:
      x = recurrent.flip_sequences(x, lengths, num_batch_dims=1, time_major=False)
    projected = jnp.einsum('bte,eg->tbg', x, input_kernel.astype(self.dtype)) + bias.astype(
        self.dtype)  # [T, B, 4H]
    states = jnp.swapaxes(lstm_recurrence(projected, kernel.astype(self.dtype)), 0, 1)
    if self.reverse:
      states = recurrent.flip_sequences(states, lengths, num_batch_dims=1, time_major=False)
    return states


class _SeqLengths(nn.Module):
  """A one-direction `LSTM` called as flax's RNN is: layer(x, seq_lengths=...)."""
  layer: LSTM

  def __call__(self, x, seq_lengths):
    return self.layer(x, seq_lengths)


class _BiLSTM(nn.Module):
  """A forward and a backward `LSTM` over the same input, concatenated: [B, T, 2H]."""
  forward: LSTM
  backward: LSTM

  def __call__(self, x, seq_lengths):
    return jnp.concatenate([self.forward(x, seq_lengths), self.backward(x, seq_lengths)], -1)


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

  def setup(self):
    if self.cell not in _CELLS:
      raise ValueError(f'unknown model.cell {self.cell!r}; choose from {", ".join(_CELLS)}')
    dtype = common.compute_dtype(self.dtype)
    self.embed = nn.Embed(self.vocab_size, self.embed_dim, dtype=dtype,
                          embedding_init=nn.initializers.normal(stddev=0.1), name='embed')
    layers = []
    for i in range(self.num_layers):
      make = lambda name: nn.RNN(_CELLS[self.cell](self.hidden_dim, dtype=dtype), name=name)
      if self.cell == 'lstm':
        make = lambda name, reverse=False: LSTM(self.hidden_dim, reverse, dtype, name=name)
        layers.append(_BiLSTM(make(f'fwd_{i}'), make(f'bwd_{i}', True), name=f'layer_{i}')
                      if self.bidirectional else _SeqLengths(make(f'layer_{i}')))
        continue
      if self.bidirectional:
        layers.append(nn.Bidirectional(make(f'fwd_{i}'), make(f'bwd_{i}'), name=f'layer_{i}'))
      else:
        layers.append(make(f'layer_{i}'))
    self.layers = layers
    self.drop = nn.Dropout(self.dropout)

  def __call__(self, tokens, mask, train: bool = False):
    x = self.drop(self.embed(tokens), deterministic=not train)
    lengths = mask.sum(-1).astype(jnp.int32)
    for i, layer in enumerate(self.layers):
      x = layer(x, seq_lengths=lengths)
      if i + 1 < len(self.layers):
        x = self.drop(x, deterministic=not train)
    x = x * mask[..., None].astype(x.dtype)
    return x, common.pool(x, mask, self.pooling)

  def token_embedding(self):
    return self.embed
