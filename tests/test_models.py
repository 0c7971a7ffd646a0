"""Encoder contract, shapes, and padding invariance for every family."""

import dataclasses
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from textcls_jax import config_base
from textcls_jax import models

VOCAB = 50


def small_model_config(family: str) -> ml_collections.ConfigDict:
  c = getattr(config_base, f'{family}_model')()
  if family == 'rnn':
    c.update(embed_dim=8, hidden_dim=8, num_layers=2)
  elif family == 'cnn':
    c.update(embed_dim=8, num_filters=4, filter_widths=(2, 3))
  else:
    c.update(hidden_dim=16, num_layers=2, num_heads=2, mlp_dim=32, max_len=16)
  return c


FAMILIES = ('rnn', 'cnn', 'transformer')


def test_the_registry_builds_each_family_of_the_table_from_its_default_config():
  """config_base.ENCODER_FAMILIES lists the families; models.ENCODERS holds a module for each,
  whose fields take every key of the family's default config.model."""
  assert list(models.ENCODERS) == list(config_base.ENCODER_FAMILIES) == list(FAMILIES)
  for family in FAMILIES:
    encoder = models.build_encoder(config_base.model_config(family), VOCAB)
    assert isinstance(encoder, models.ENCODERS[family])


def _tokens(rng, batch, length, lengths):
  tokens = np.array(jax.random.randint(rng, (batch, length), 4, VOCAB))
  tokens[:, 0] = 2  # [CLS]
  for i, n in enumerate(lengths):
    tokens[i, n:] = 0
  return jnp.asarray(tokens)


@pytest.mark.parametrize('family', FAMILIES)
def test_encoder_contract_shapes(family):
  encoder = models.build_encoder(small_model_config(family), VOCAB)
  tokens = _tokens(jax.random.PRNGKey(0), 3, 10, [10, 4, 1])
  params = encoder.init(jax.random.PRNGKey(1), tokens, tokens != 0)
  seq, pooled = encoder.apply(params, tokens, tokens != 0)
  width = {'rnn': 16, 'cnn': 8, 'transformer': 16}[family]
  assert seq.shape == (3, 10, width) and pooled.shape == (3, width)
  assert seq.dtype == jnp.float32
  # Sequence states at padding positions are zero.
  np.testing.assert_array_equal(np.asarray(seq[1, 4:]), 0)


@pytest.mark.parametrize('family', FAMILIES)
def test_padding_never_changes_the_result(family):
  """The same sequences padded to 6 and to 13 positions give the same logits."""
  classifier = models.build_classifier(small_model_config(family), VOCAB, num_classes=3, pad_id=0)
  short = _tokens(jax.random.PRNGKey(2), 4, 6, [6, 3, 1, 5])
  long = jnp.pad(short, ((0, 0), (0, 7)))
  params = classifier.init(jax.random.PRNGKey(3), long)
  a = classifier.apply(params, short)
  b = classifier.apply(params, long)
  assert a.shape == (4, 3)
  np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('family', FAMILIES)
def test_bfloat16_compute_gives_float32_logits(family):
  config = small_model_config(family)
  config.dtype = 'bfloat16'
  classifier = models.build_classifier(config, VOCAB, num_classes=2, pad_id=0)
  tokens = _tokens(jax.random.PRNGKey(4), 2, 8, [8, 3])
  params = classifier.init(jax.random.PRNGKey(5), tokens)
  assert all(p.dtype == jnp.float32 for p in jax.tree.leaves(params))  # Parameters stay fp32.
  logits, state = classifier.apply(params, tokens, capture_intermediates=True,
                                   mutable=['intermediates'])
  assert logits.dtype == jnp.float32 and bool(jnp.isfinite(logits).all())
  # The layers compute in bfloat16 (their outputs are), and mean what float32 compute means.
  dtypes = {x.dtype for x in jax.tree.leaves(state['intermediates'])}
  assert jnp.dtype(jnp.bfloat16) in dtypes, dtypes
  config.dtype = 'float32'
  reference = models.build_classifier(config, VOCAB, num_classes=2, pad_id=0).apply(params, tokens)
  assert not np.array_equal(np.asarray(logits), np.asarray(reference))
  np.testing.assert_allclose(np.asarray(logits), np.asarray(reference), atol=0.05)


def test_dropout_is_active_only_in_training():
  classifier = models.build_classifier(small_model_config('cnn'), VOCAB, num_classes=2, pad_id=0)
  tokens = _tokens(jax.random.PRNGKey(6), 4, 8, [8] * 4)
  params = classifier.init(jax.random.PRNGKey(7), tokens)
  eval_a = classifier.apply(params, tokens)
  eval_b = classifier.apply(params, tokens)
  np.testing.assert_array_equal(np.asarray(eval_a), np.asarray(eval_b))
  train_a = classifier.apply(params, tokens, train=True, rngs={'dropout': jax.random.PRNGKey(8)})
  assert not np.allclose(np.asarray(train_a), np.asarray(eval_a))


def test_bidirectional_rnn_sees_the_future():
  """Changing the last token changes the first position's state in a biRNN, not in a uniRNN."""
  tokens = _tokens(jax.random.PRNGKey(9), 1, 6, [6])
  changed = tokens.at[0, 5].set(7 if int(tokens[0, 5]) != 7 else 8)
  for bidirectional, expect_change in ((True, True), (False, False)):
    config = small_model_config('rnn')
    config.bidirectional = bidirectional
    encoder = models.build_encoder(config, VOCAB)
    params = encoder.init(jax.random.PRNGKey(10), tokens, tokens != 0)
    first = lambda t: encoder.apply(params, t, t != 0)[0][0, 0]
    assert (not np.allclose(first(tokens), first(changed))) == expect_change


def test_gru_cell_and_unknown_names():
  config = small_model_config('rnn')
  config.cell = 'gru'
  encoder = models.build_encoder(config, VOCAB)
  tokens = _tokens(jax.random.PRNGKey(11), 2, 5, [5, 2])
  encoder.init(jax.random.PRNGKey(0), tokens, tokens != 0)
  config.name = 'mlp'
  with pytest.raises(ValueError, match="unknown model.name 'mlp'; choose from rnn, cnn, transformer"):
    models.build_encoder(config, VOCAB)
  config = small_model_config('cnn')
  config.hidden_dim = 3
  with pytest.raises(ValueError, match='model.hidden_dim is not a field of the cnn encoder'):
    models.build_encoder(config, VOCAB)


def test_transformer_rejects_sequences_longer_than_its_positions():
  encoder = models.build_encoder(small_model_config('transformer'), VOCAB)
  tokens = jnp.ones((1, 17), jnp.int32)
  with pytest.raises(ValueError, match='exceeds model.max_len 16'):
    encoder.init(jax.random.PRNGKey(0), tokens, tokens != 0)


def _mean_cosine_between_positions(sequence):
  """sequence float32 [B, T, H] -> mean cosine similarity over pairs of distinct positions."""
  unit = sequence / jnp.linalg.norm(sequence, axis=-1, keepdims=True)
  similarity = jnp.einsum('btd,bsd->bts', unit, unit)
  length = sequence.shape[1]
  return float(((similarity.sum((1, 2)) - length) / (length * (length - 1))).mean())


def test_transformer_embed_norm_keeps_positions_apart_at_init():
  """Without the embedding LayerNorm the first block's near-uniform attention output swamps the
  0.02-scale embeddings, so at initialization all positions look alike; with it they do not."""
  tokens = jax.random.randint(jax.random.PRNGKey(0), (8, 24), 4, VOCAB)
  similarity = {}
  for embed_norm in (False, True):
    config = small_model_config('transformer')
    config.update(hidden_dim=64, mlp_dim=256, max_len=32, embed_norm=embed_norm)
    encoder = models.build_encoder(config, VOCAB)
    params = encoder.init(jax.random.PRNGKey(1), tokens, tokens != 0)
    assert ('ln_embed' in params['params']) == embed_norm
    sequence, _ = encoder.apply(params, tokens, tokens != 0)
    similarity[embed_norm] = _mean_cosine_between_positions(sequence)
  assert similarity[False] > 0.6
  assert similarity[True] < similarity[False] / 2


def test_transformer_embed_norm_keeps_padding_invariance():
  config = small_model_config('transformer')
  config.embed_norm = True
  classifier = models.build_classifier(config, VOCAB, num_classes=2, pad_id=0)
  short = _tokens(jax.random.PRNGKey(2), 3, 6, [6, 3, 1])
  long = jnp.pad(short, ((0, 0), (0, 5)))
  params = classifier.init(jax.random.PRNGKey(3), long)
  np.testing.assert_allclose(np.asarray(classifier.apply(params, short)),
                             np.asarray(classifier.apply(params, long)), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('train', [False, True])
def test_self_attention_is_flax_attention_in_another_layout(train):
  """The encoder's attention has flax MultiHeadDotProductAttention's parameters, initialization and
  results (dropout included: the same key draws the same mask) on every valid position."""
  from textcls_jax.models import transformer

  class Flax(nn.Module):
    @nn.compact
    def __call__(self, x, mask, train):
      return nn.MultiHeadDotProductAttention(
          num_heads=4, dropout_rate=0.3, deterministic=not train, name='attn')(
              x, x, mask=nn.make_attention_mask(mask, mask))

  class Ours(nn.Module):
    @nn.compact
    def __call__(self, x, mask, train):
      return transformer.SelfAttention(4, 0.3, jnp.float32, name='attn')(
          x, transformer.padding_bias(mask, x.dtype), train)

  x = jax.random.normal(jax.random.PRNGKey(1), (3, 7, 16))
  mask = jnp.arange(7)[None, :] < jnp.array([[7], [4], [1]])
  rngs = {'params': jax.random.PRNGKey(2), 'dropout': jax.random.PRNGKey(3)}
  flax_params = Flax().init(rngs, x, mask, False)['params']
  params = Ours().init(rngs, x, mask, False)['params']
  assert jax.tree.map(jnp.shape, params) == jax.tree.map(jnp.shape, flax_params)
  jax.tree.map(np.testing.assert_array_equal, params, flax_params)  # The same initial values.
  expected = Flax().apply({'params': params}, x, mask, train, rngs={'dropout': rngs['dropout']})
  got = Ours().apply({'params': params}, x, mask, train, rngs={'dropout': rngs['dropout']})
  valid = np.asarray(mask)
  np.testing.assert_allclose(np.asarray(got)[valid], np.asarray(expected)[valid], atol=1e-5)


@pytest.mark.parametrize('dtype', [jnp.float32, jnp.bfloat16])
def test_fused_gate_lstm_cell_is_flax_optimized_lstm_cell(dtype):
  """The RNN encoder's LSTM cell has flax OptimizedLSTMCell's parameters and initial values, and
  its results and gradients (inputs and every parameter), through a bidirectional RNN with ragged
  lengths, equal flax's to float rounding; its hand-written gate gradient included."""
  from textcls_jax.models import lstm

  def bidirectional(cell):
    return nn.Bidirectional(nn.RNN(cell(6, dtype=dtype)), nn.RNN(cell(6, dtype=dtype)))

  x = jax.random.normal(jax.random.PRNGKey(1), (5, 9, 7))
  lengths = jnp.array([9, 3, 5, 1, 7])
  flax_rnn, ours = bidirectional(nn.OptimizedLSTMCell), bidirectional(lstm.FusedGateLSTMCell)
  params = ours.init(jax.random.PRNGKey(0), x)
  jax.tree.map(np.testing.assert_array_equal, params, flax_rnn.init(jax.random.PRNGKey(0), x))

  def loss(model):
    return lambda p, x: (model.apply(p, x, seq_lengths=lengths).astype(jnp.float32) ** 2).sum()

  tol = 1e-5 if dtype == jnp.float32 else 5e-2  # bfloat16 keeps 8 bits of mantissa.
  for expected, got in zip(jax.tree.leaves(jax.grad(loss(flax_rnn), argnums=(0, 1))(params, x)),
                           jax.tree.leaves(jax.grad(loss(ours), argnums=(0, 1))(params, x))):
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(np.asarray(got, np.float32), np.asarray(expected, np.float32),
                               atol=tol * float(jnp.abs(expected).max()), rtol=0)
  np.testing.assert_allclose(np.asarray(ours.apply(params, x, seq_lengths=lengths), np.float32),
                             np.asarray(flax_rnn.apply(params, x, seq_lengths=lengths), np.float32),
                             atol=tol)


@pytest.mark.parametrize('family', FAMILIES)
def test_pooled_only_call_skips_the_sequence_and_keeps_the_pooled_numbers(family):
  """With sequence=False an encoder returns no sequence and the same pooled states, in training
  too: the Transformer's 'cls' path computes its last block at position 0 alone, and each dropout
  there keeps the mask it has in the full sequence."""
  config = small_model_config(family)
  if family == 'transformer':
    config.update(pooling='cls', dropout=0.3, attention_dropout=0.3)
  encoder = models.build_encoder(config, VOCAB)
  tokens = _tokens(jax.random.PRNGKey(0), 3, 9, [9, 5, 1])
  mask = tokens != 0
  params = encoder.init(jax.random.PRNGKey(1), tokens, mask)['params']

  @functools.partial(jax.jit, static_argnums=1)
  def pooled(params, sequence):
    out = encoder.apply({'params': params}, tokens, mask, train=True, sequence=sequence,
                        rngs={'dropout': jax.random.PRNGKey(2)})
    return out[1], out[0]

  (full, full_seq), (short, short_seq) = pooled(params, True), pooled(params, False)
  assert full_seq.shape == (3, 9, full.shape[-1]) and short_seq is None
  np.testing.assert_allclose(short, full, atol=1e-5)
  if family != 'transformer':
    return  # The other families compute the same sequence either way.
  # Dropout is on, so the masks are compared too; and the gradients.
  assert not np.allclose(full, encoder.apply({'params': params}, tokens, mask)[1], atol=1e-3)
  grads = [jax.grad(lambda p, s=s: pooled(p, s)[0].sum())(params) for s in (True, False)]
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=5e-5), *grads)


def test_classifier_asks_its_encoder_for_the_pooled_states_only():
  """The classifier's logits are the head's on the full call's pooled states."""
  config = small_model_config('transformer')
  config.update(pooling='cls')
  classifier = models.build_classifier(config, VOCAB, 3, pad_id=0)
  tokens = _tokens(jax.random.PRNGKey(0), 2, 9, [9, 4])
  variables = classifier.init(jax.random.PRNGKey(1), tokens)
  _, pooled = classifier.encoder.apply({'params': variables['params']['encoder']}, tokens,
                                       tokens != 0)
  expected = classifier.head.apply({'params': variables['params']['head']}, pooled)
  np.testing.assert_allclose(jax.jit(classifier.apply)(variables, tokens), expected, atol=1e-5)


AMD_AVX2 = 'vendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx avx2 fma\n'
INTEL_AMX = ('vendor_id\t: GenuineIntel\nflags\t\t: fpu avx2 avx512f avx512bw amx_bf16 amx_tile '
             'amx_int8\n\nvendor_id\t: GenuineIntel\nflags\t\t: fpu\n')


def test_compiler_choices_apply_only_on_the_cpu_kinds_they_were_measured_on():
  from textcls_jax import xla_options
  amd, intel = xla_options.parse_cpuinfo(AMD_AVX2), xla_options.parse_cpuinfo(INTEL_AMX)
  assert amd == xla_options.CpuKind('AMD', avx512=False, amx=False)
  assert intel == xla_options.CpuKind('Intel', avx512=True, amx=True)  # The first processor's.
  assert str(intel) == 'Intel CPU (AVX-512, AMX)'
  assert xla_options.parse_cpuinfo('') == xla_options.CpuKind('', False, False)
  amd_avx512 = dataclasses.replace(amd, avx512=True)
  for_step = xla_options.for_step
  assert for_step('transformer', training=False, backend='cpu', cpu=amd) == (
      xla_options.WITHOUT_YNNPACK)
  for other in (intel, amd_avx512, xla_options.CpuKind('', False, False)):  # Not measured.
    assert for_step('transformer', training=False, backend='cpu', cpu=other) == {}
  assert for_step('transformer', training=True, backend='cpu', cpu=amd) == {}
  assert for_step('transformer', training=False, backend='gpu', cpu=amd) == {}
  assert for_step('rnn', training=False, backend='cpu', cpu=amd) == {}
  assert isinstance(xla_options.cpu_kind(), xla_options.CpuKind)  # This machine's, read.


def test_a_transformer_forward_compiles_without_ynnpack_and_means_the_same():
  from textcls_jax import predict
  from textcls_jax import xla_options
  model = models.build_classifier(small_model_config('transformer'), VOCAB, 3, pad_id=0)
  tokens = _tokens(jax.random.PRNGKey(0), 4, 16, [16, 9, 3, 12])
  params = model.init(jax.random.PRNGKey(1), tokens)['params']
  forward = {name: predict.probabilities(model.apply, options)
             for name, options in (('default', {}), ('without', xla_options.WITHOUT_YNNPACK))}
  # The option takes: XLA names each fusion it hands to YNNPACK '__ynn_fusion'.
  compiled = {name: f.lower(params, tokens).compile().as_text() for name, f in forward.items()}
  assert '__ynn_fusion' in compiled['default'] and '__ynn_fusion' not in compiled['without']
  np.testing.assert_allclose(forward['without'](params, tokens), forward['default'](params, tokens),
                             rtol=1e-5, atol=1e-6)
