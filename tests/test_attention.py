"""The attention seam (models/attention.py, model.attention_impl): the implementations compute the
same function, in the function alone and inside the Transformer (outputs and gradients); 'auto'
picks by backend, dtype and dropout; what an implementation cannot do is refused."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from textcls_jax import config_base
from textcls_jax import config_checks
from textcls_jax import models
from textcls_jax.models import attention
from textcls_jax.models.transformer import padding_bias


def _inputs(dtype, rows=None, seed=0):
  """query [B, H, T', D], key, value [B, H, T, D] and the padding bias of lengths 10, 7, 1."""
  keys = jax.random.split(jax.random.PRNGKey(seed), 3)
  b, h, t, d = 3, 4, 10, 8
  q, k, v = (jax.random.normal(key, (b, h, t, d)).astype(dtype) for key in keys)
  mask = jnp.arange(t)[None, :] < jnp.array([10, 7, 1])[:, None]
  return q[:, :, :rows or t], k, v, padding_bias(mask, dtype)


@pytest.mark.parametrize('rows', [None, 1])  # Every query, or position 0's alone (first_only).
@pytest.mark.parametrize('dtype,tolerance', [(jnp.float32, 2e-6), (jnp.bfloat16, 3e-2)])
def test_the_implementations_compute_the_same_attention(rows, dtype, tolerance):
  q, k, v, bias = _inputs(dtype, rows)
  einsum = attention.attend(q, k, v, bias, impl='einsum')
  fused = attention.attend(q, k, v, bias, impl='xla')
  assert einsum.shape == fused.shape == (3, rows or 10, 4, 8) and einsum.dtype == fused.dtype
  np.testing.assert_allclose(np.asarray(einsum, np.float32), np.asarray(fused, np.float32),
                             atol=tolerance, rtol=tolerance)
  # Padding keys take no weight: changing their values changes nothing.
  changed = v.at[1, :, 7:].set(100.0).at[2, :, 1:].set(-100.0)
  np.testing.assert_array_equal(attention.attend(q, k, changed, bias, impl='xla'), fused)


def _encoder(impl, dropout=0.0):
  model = config_base.bert_model(32, 2, 4, 64, max_len=16, attention_impl=impl,
                                 attention_dropout=dropout)
  return models.build_classifier(model, 50, 3, pad_id=0)


def test_a_transformer_computes_the_same_outputs_and_gradients_with_either_implementation():
  tokens = jnp.asarray(np.random.default_rng(0).integers(1, 50, (4, 12)), jnp.int32)
  tokens = tokens.at[1, 6:].set(0).at[3, 2:].set(0)
  params = _encoder('einsum').init(jax.random.PRNGKey(0), tokens)['params']
  def loss(params, impl):  # Hidden dropout on: both draw the same masks.
    logits = _encoder(impl).apply({'params': params}, tokens, train=True,
                                  rngs={'dropout': jax.random.PRNGKey(1)})
    return jnp.mean(jax.nn.log_softmax(logits)[:, 0])
  (a, grads_a), (b, grads_b) = (jax.value_and_grad(loss)(params, impl) for impl in ('einsum', 'xla'))
  np.testing.assert_allclose(a, b, rtol=1e-5)
  for x, y in zip(jax.tree.leaves(grads_a), jax.tree.leaves(grads_b)):
    np.testing.assert_allclose(x, y, atol=2e-6, rtol=2e-4)
  for impl in ('auto', 'xla'):
    np.testing.assert_allclose(_encoder(impl).apply({'params': params}, tokens),
                               _encoder('einsum').apply({'params': params}, tokens), atol=2e-6)


def test_auto_picks_by_backend_dtype_and_dropout():
  assert attention.resolve('auto', jnp.float32, False, backend='cpu') == 'einsum'
  assert attention.resolve('auto', jnp.bfloat16, False, backend='cpu') == 'einsum'
  assert attention.resolve('auto', jnp.bfloat16, False, backend='gpu') == 'cudnn'
  assert attention.resolve('auto', jnp.bfloat16, True, backend='gpu') == 'einsum'  # Dropout.
  assert attention.resolve('auto', jnp.float32, False, backend='gpu') == 'einsum'
  assert attention.resolve('auto', jnp.bfloat16, False, backend='tpu') == 'einsum'
  assert attention.resolve('xla', jnp.float32, False, backend='gpu') == 'xla'


def test_what_an_implementation_cannot_do_is_refused_in_one_line():
  with pytest.raises(ValueError, match="attention_impl='xla' has no attention dropout"):
    attention.resolve('xla', jnp.float32, True)
  with pytest.raises(ValueError, match="attention_impl='flash': choose from auto, einsum"):
    attention.resolve('flash', jnp.float32, False)
  # In training, with attention dropout: the model refuses too (config_checks does first).
  tokens = jnp.ones((2, 8), jnp.int32)
  model = _encoder('xla', dropout=0.1)
  params = model.init(jax.random.PRNGKey(0), tokens)['params']  # (Not training: no dropout.)
  with pytest.raises(ValueError, match='has no attention dropout'):
    model.apply({'params': params}, tokens, train=True, rngs={'dropout': jax.random.PRNGKey(1)})
  config = config_base.base_config()
  config.model = config_base.transformer_model()
  config.model.attention_impl = 'xla'
  assert config.model.attention_dropout > 0
  [problem] = config_checks.problems(config)
  assert problem.startswith("model.attention_impl='xla' is not allowed: it must be 'auto' or "
                            "'einsum' with model.attention_dropout > 0"), problem
  config.model.attention_dropout = 0.0
  assert not config_checks.problems(config)


@pytest.mark.skipif(jax.default_backend() != 'gpu', reason='cuDNN attention needs an NVIDIA GPU '
                    '(benchmarks/gpu_check.sh runs this there)')
@pytest.mark.parametrize('rows', [None, 1])
def test_cudnn_attention_computes_what_the_einsum_path_computes(rows):
  q, k, v, bias = _inputs(jnp.bfloat16, rows)
  np.testing.assert_allclose(
      np.asarray(attention.attend(q, k, v, bias, impl='cudnn'), np.float32),
      np.asarray(attention.attend(q, k, v, bias, impl='einsum'), np.float32), atol=3e-2, rtol=3e-2)
  assert attention.resolve('auto', jnp.bfloat16, False) == 'cudnn'
