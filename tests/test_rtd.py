"""Replaced-token detection (ELECTRA): the corruption, the loss on every position, the shared
embedding, pretraining that learns, and the discriminator's encoder transferred exactly."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from textcls_jax import config_base
from textcls_jax import masking
from textcls_jax import models
from textcls_jax import tasks
from textcls_jax import train
from textcls_jax import transfer
from textcls_jax import vocab as special

from test_mlm import _mlm_config, _tokens, fine_tune_one_frozen_step
from test_models import small_model_config

VOCAB = 1000


def test_a_picked_position_takes_its_sample_and_a_sampled_original_is_not_replaced():
  tokens = jnp.array([[2, 10, 11, 12, 13, 0]], jnp.int32)
  positions = jnp.array([[1, 3, 4]], jnp.int32)
  weights = jnp.array([[1.0, 1.0, 0.0]])  # Position 4 is filler.
  logits = jnp.full((1, 3, 20), -1e9)
  logits = logits.at[0, 0, 17].set(0.0)  # Certain: 17 at position 1.
  logits = logits.at[0, 1, 12].set(0.0)  # Certain: the original 12 at position 3.
  logits = logits.at[0, 2, 19].set(0.0)  # Would be 19 at position 4, but it is filler.
  corrupted, replaced = tasks.replace_with_samples(jax.random.PRNGKey(0), tokens, logits,
                                                   positions, weights, special=special.SENTENCEPIECE)
  np.testing.assert_array_equal(corrupted, [[2, 17, 11, 12, 13, 0]])
  np.testing.assert_array_equal(replaced, [[False, True, False, False, False, False]])


def test_replacement_statistics_with_a_uniform_generator():
  tokens = _tokens(batch=64, length=128, pad_from=[128 - i for i in range(64)])
  k = masking.num_predictions(128, 0.15)
  _, positions, _, weights = masking.mask_tokens(
      jax.random.PRNGKey(3), tokens, vocab_size=VOCAB, max_predictions=k, special=special.SENTENCEPIECE)
  corrupted, replaced = tasks.replace_with_samples(
      jax.random.PRNGKey(4), tokens, jnp.zeros((64, k, VOCAB)), positions, weights, special=special.SENTENCEPIECE)
  picked = np.zeros(tokens.shape, bool)
  for row, (pos, w) in enumerate(zip(np.asarray(positions), np.asarray(weights))):
    picked[row, pos[w > 0]] = True
  replaced, corrupted = np.asarray(replaced), np.asarray(corrupted)
  assert not (replaced & ~picked).any()  # Only picked positions change ...
  np.testing.assert_array_equal(corrupted[~picked], np.asarray(tokens)[~picked])
  assert (corrupted[picked] >= special.NUM_SPECIAL).all()  # ... never to a special id ...
  # ... and nearly all of them do (a uniform sample equals the original 1 time in 996).
  assert replaced.sum() / picked.sum() > 0.99
  candidates = (np.asarray(tokens) >= special.NUM_SPECIAL).sum()
  assert abs(replaced.sum() / candidates - 0.15) < 0.005


def test_the_discriminator_is_trained_on_every_token_with_the_hand_computed_loss():
  """A stand-in model whose outputs are the parameters: the loss and its gradient by hand."""
  tokens = jnp.array([[2, 10, 11, 12, 13, 14, 0, 0], [2, 20, 21, 22, 0, 0, 0, 0]], jnp.int32)
  batch = {'tokens': tokens, 'weight': jnp.ones(2)}
  k, vocab_size, rate, weight = 2, 30, 0.25, 50.0
  def apply_fn(variables, tokens, positions=None, *, train, rngs, method):
    del positions, train, rngs
    p = variables['params']
    return p['generator'] if method == 'generate' else p['discriminator'] + 0 * tokens
  params = {'generator': jnp.zeros((2, k, vocab_size)),
            'discriminator': jnp.linspace(-1.0, 1.0, 16).reshape(2, 8)}
  objective = lambda p: tasks.rtd_objective(
      apply_fn, p, batch, jax.random.PRNGKey(0), True, vocab_size=vocab_size, rate=rate,
      mask_fraction=1.0, random_fraction=0.0, max_predictions=k, discriminator_weight=weight,
      temperature=1.0, special=special.SENTENCEPIECE)
  (loss, sums), grads = jax.value_and_grad(objective, has_aux=True)(params)
  # Reproduce the corruption to know which tokens were replaced.
  mask_rng, sample_rng, _ = jax.random.split(jax.random.PRNGKey(0), 3)
  _, positions, _, weights = masking.mask_tokens(mask_rng, tokens, rate=rate, mask_fraction=1.0,
                                                 random_fraction=0.0, vocab_size=vocab_size,
                                                 max_predictions=k, special=special.SENTENCEPIECE)
  _, replaced = tasks.replace_with_samples(sample_rng, tokens, params['generator'], positions,
                                           weights, special=special.SENTENCEPIECE)
  valid = np.asarray(tokens) != special.PAD_ID
  x, y = np.asarray(params['discriminator'], np.float64), np.asarray(replaced, np.float64)
  bce = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
  masked = float(np.asarray(weights).sum())  # 1 + 1: round(5 x 0.25) and round(3 x 0.25).
  assert masked == 2
  assert float(sums['tokens']) == valid.sum() == 10
  np.testing.assert_allclose(float(sums['discriminator_loss_sum']), bce[valid].sum(), rtol=1e-5)
  generator_ce = masked * np.log(vocab_size)  # Uniform logits.
  np.testing.assert_allclose(float(loss), (generator_ce + rate * weight * bce[valid].sum())
                             / masked, rtol=1e-5)
  # Every real token, replaced or not, sends a gradient to the discriminator; padding sends none.
  g = np.asarray(grads['discriminator'])
  assert (g[valid] != 0).all() and (g[~valid] == 0).all()


@pytest.mark.parametrize('family', ['rnn', 'cnn', 'transformer'])
def test_the_generator_is_smaller_and_shares_the_discriminators_token_embedding(family):
  config = small_model_config(family)
  model = models.build_replaced_token_detector(config, 50, 0.5, pad_id=0)
  k = 3
  tokens = jnp.asarray(np.random.default_rng(0).integers(4, 50, (2, 16)), jnp.int32)
  positions = jnp.array([[1, 2, 3], [4, 5, 6]], jnp.int32)
  params = model.init(jax.random.PRNGKey(0), tokens, positions)['params']
  assert set(params) == {'encoder', 'generator', 'discriminator_head'}
  assert 'embed' in params['encoder'] and 'embed' not in params['generator']['encoder']
  size = lambda tree: sum(x.size for x in jax.tree.leaves(tree))
  assert size(params['generator']['encoder']) < size(params['encoder']) / 2
  # The discriminator's encoder is the classifier's encoder, parameter for parameter.
  classifier = models.build_classifier(config, 50, 2, pad_id=0).init(jax.random.PRNGKey(0), tokens)['params']
  assert (jax.tree.map(jnp.shape, classifier['encoder'])
          == jax.tree.map(jnp.shape, params['encoder']))
  # The generator's loss reaches the shared embedding.
  grads = jax.grad(lambda p: model.apply({'params': p}, tokens, positions,
                                         method='generate').sum())(params)
  assert float(jnp.abs(grads['encoder']['embed']['embedding']).sum()) > 0
  assert logits_shape(model, params, tokens, positions) == ((2, k, 50), (2, 16))


def logits_shape(model, params, tokens, positions):
  generated, discriminated = model.apply({'params': params}, tokens, positions)
  assert generated.dtype == discriminated.dtype == jnp.float32
  return generated.shape, discriminated.shape


WORDS = ('alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike '
         'november oscar papa quebec romeo sierra tango').split()


def _rtd_config(tmp_path, family):
  """A corpus where a replaced word is detectable: runs of the NATO alphabet in order, from random
  starts (a random-word corpus would make the generator's samples as plausible as the originals)."""
  config = _mlm_config(tmp_path, family)
  rng = np.random.default_rng(0)
  lines = []
  for _ in range(3000):
    start, n = rng.integers(len(WORDS)), rng.integers(6, 16)
    lines.append(' '.join(WORDS[(start + i) % len(WORDS)] for i in range(n)))
  text = tmp_path / 'alphabet.txt'
  text.write_text('\n'.join(lines) + '\n')
  config.data.corpus_sources = (f'text:{text}',)
  config.task = 'rtd'
  config.mlm.update(mask_fraction=0.85, random_fraction=0.0)
  config.rtd.generator_size = 0.5
  return config


@pytest.mark.parametrize('family', ['rnn', 'cnn', 'transformer'])
def test_pretraining_reduces_the_rtd_loss(tmp_path, family):
  config = _rtd_config(tmp_path, family)
  train.train_and_evaluate(config, str(tmp_path / 'pre'))
  from test_train import _metrics
  rows = _metrics(tmp_path / 'pre')
  train_rows = [r for r in rows if r['split'] == 'train']
  assert train_rows[-1]['loss'] < train_rows[0]['loss']
  dev = [r for r in rows if r['split'] == 'dev'][-1]
  # The generator learned: near guessing each token from its frequency (the unigram model), far
  # below the uniform guess (60, the vocabulary).
  from test_mlm import unigram_perplexity
  unigram = unigram_perplexity(tmp_path / 'pre', config)
  assert dev['perplexity'] < 1.25 * unigram, (dev['perplexity'], unigram)
  assert 0.05 < dev['replaced_share'] < 0.16  # About rate, less the originals sampled back.


def test_the_discriminator_learns_and_its_encoder_loads_exactly_into_a_classifier(tmp_path):
  from test_train import _metrics
  config = _rtd_config(tmp_path, 'cnn')
  config.train.num_steps = 120
  config.train.eval_every_steps = 120
  config.checkpoint.every_steps = 120
  config.optim.learning_rate = 1e-2
  pre = str(tmp_path / 'pre')
  train.train_and_evaluate(config, pre)
  dev = [r for r in _metrics(pre) if r['split'] == 'dev'][-1]
  # Its loss is well below that of the best constant guess (the replaced share, for every token):
  # it tells replaced tokens from original ones.
  p = dev['replaced_share']
  assert dev['discriminator_loss'] < 0.9 * -(p * np.log(p) + (1 - p) * np.log(1 - p)), dev
  saved, step = transfer.load_encoder_params(transfer.Pretrained.read(pre))
  assert step == 120
  _, params = fine_tune_one_frozen_step(tmp_path, pre, config.model)
  assert jax.tree.structure(params['encoder']) == jax.tree.structure(saved)
  for a, b in zip(jax.tree.leaves(params['encoder']), jax.tree.leaves(saved)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  # The saved encoder is the discriminator's, not the generator's (which is narrower).
  assert np.asarray(saved['conv_0_w3']['kernel']).shape[-1] == config.model.num_filters
  assert os.path.exists(tmp_path / 'fine' / 'tokenizer' / 'spm.model')

