"""Losses and metrics on inputs small enough to check by hand."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from textcls_jax import optim
from textcls_jax import tasks
from textcls_jax import config_base


def test_classification_loss_by_hand():
  logits = jnp.array([[0.0, 0.0], [math.log(3.0), 0.0]])  # p = (1/2, 1/2) and (3/4, 1/4).
  labels = jnp.array([0, 1])
  loss = tasks.classification_loss(logits, labels, jnp.ones(2))
  assert float(loss) == pytest.approx((math.log(2) + math.log(4)) / 2, rel=1e-6)
  # Weight 0 removes an example entirely.
  loss = tasks.classification_loss(logits, labels, jnp.array([1.0, 0.0]))
  assert float(loss) == pytest.approx(math.log(2), rel=1e-6)


def test_metric_sums_ignore_padding_and_give_hand_checked_f1():
  # True labels 0,0,1,1,2 ; predictions 0,1,1,1,0 ; a sixth, padded example predicted wrong.
  labels = jnp.array([0, 0, 1, 1, 2, 2])
  predicted = jnp.array([0, 1, 1, 1, 0, 1])
  logits = jnp.eye(3)[predicted] * 5.0
  weights = jnp.array([1, 1, 1, 1, 1, 0], jnp.float32)
  sums = tasks.classification_metric_sums(logits, labels, weights)
  assert float(sums['count']) == 5 and float(sums['correct']) == 3
  np.testing.assert_array_equal(np.asarray(sums['confusion']),
                                [[1, 1, 0], [0, 2, 0], [1, 0, 0]])
  figures = tasks.summarize_classification(sums, ['a', 'b', 'c'], per_class=True)
  assert figures['accuracy'] == pytest.approx(0.6)
  # F1: a = 2*(1/2*1/2)/(1) = 0.5 ; b = 2*(2/3*1)/(5/3) = 0.8 ; c = 0.
  assert figures['class/a/f1'] == pytest.approx(0.5)
  assert figures['class/b/f1'] == pytest.approx(0.8)
  assert figures['class/c/f1'] == pytest.approx(0.0)
  assert figures['macro_f1'] == pytest.approx(1.3 / 3)
  assert 'f1' not in figures  # Class 1's F1 (GLUE's for MRPC and QQP) only for two classes.


def test_two_classes_report_the_f1_of_class_1_as_glue_does():
  # True 0,0,1,1,1; predicted 0,1,1,1,0: class 1 precision 2/3, recall 2/3.
  logits = jnp.eye(2)[jnp.array([0, 1, 1, 1, 0])] * 5.0
  sums = tasks.classification_metric_sums(logits, jnp.array([0, 0, 1, 1, 1]), jnp.ones(5))
  figures = tasks.summarize_classification(sums)
  assert figures['f1'] == pytest.approx(2 / 3)
  assert figures['macro_f1'] == pytest.approx((2 / 3 + 0.5) / 2)


def test_sums_add_across_batches():
  a = tasks.classification_metric_sums(jnp.eye(2) * 3, jnp.array([0, 1]), jnp.ones(2))
  b = tasks.classification_metric_sums(jnp.eye(2) * 3, jnp.array([1, 1]), jnp.ones(2))
  total = tasks.add_sums(tasks.add_sums(None, a), b)
  assert float(total['count']) == 4 and float(total['correct']) == 3


def test_weight_decay_mask_spares_biases_norms_and_positions():
  params = {'encoder': {'embed': {'embedding': 1}, 'pos_embed': 1,
                        'block_0': {'ln_attn': {'scale': 1, 'bias': 1}, 'mlp_in': {'kernel': 1,
                                                                                   'bias': 1}}}}
  mask = optim.decay_mask(params, config_base.base_config().optim.no_decay_regex)
  assert mask['encoder']['embed']['embedding'] and mask['encoder']['block_0']['mlp_in']['kernel']
  assert not mask['encoder']['pos_embed']
  assert not mask['encoder']['block_0']['ln_attn']['scale']
  assert not mask['encoder']['block_0']['mlp_in']['bias']


@pytest.mark.parametrize('schedule', ['cosine', 'linear', 'constant'])
def test_schedule_warms_up_then_decays(schedule):
  cfg = config_base.base_config().optim
  cfg.schedule, cfg.warmup_steps, cfg.learning_rate = schedule, 10, 1.0
  lr = optim.learning_rate_schedule(cfg, total_steps=100)
  assert float(lr(0)) == 0.0 and float(lr(5)) == pytest.approx(0.5)
  assert float(lr(10)) == pytest.approx(1.0)
  if schedule == 'constant':
    assert float(lr(99)) == pytest.approx(1.0)
  else:
    assert float(lr(100)) == pytest.approx(0.0, abs=1e-6)


def test_layerwise_scales_decay_with_depth():
  params = {'encoder': {'embed': {'embedding': 1.0}, 'pos_embed': 1.0,
                        'block_0': {'mlp_in': {'kernel': 1.0}},
                        'block_1': {'mlp_in': {'kernel': 1.0}}, 'ln_final': {'scale': 1.0}},
            'head': {'out': {'kernel': 1.0}}}
  s = optim.layerwise_scales(params, 0.5, 'transformer')
  assert s['head']['out']['kernel'] == 1.0 and s['encoder']['ln_final']['scale'] == 1.0
  assert s['encoder']['block_1']['mlp_in']['kernel'] == 0.5
  assert s['encoder']['block_0']['mlp_in']['kernel'] == 0.25
  assert s['encoder']['embed']['embedding'] == 0.125 and s['encoder']['pos_embed'] == 0.125


@pytest.mark.parametrize('family,layer', [('cnn', 'conv_0_w3'), ('rnn', 'layer_0')])
def test_layerwise_scales_slow_only_the_embedding_of_a_family_without_blocks(family, layer):
  params = {'encoder': {'embed': {'embedding': 1.0}, layer: {'kernel': 1.0}},
            'head': {'out': {'kernel': 1.0}}}
  s = optim.layerwise_scales(params, 0.1, family)
  assert s['encoder']['embed']['embedding'] == 0.1
  assert s['encoder'][layer]['kernel'] == 1.0 and s['head']['out']['kernel'] == 1.0


def test_freeze_encoder_for_the_first_steps():
  import jax
  import optax
  params = {'encoder': {'w': jnp.ones(2)}, 'head': {'w': jnp.ones(2)}}
  tx = optax.chain(optax.sgd(1.0), optim.freeze_subtree('encoder', 2))
  state = tx.init(params)
  grads = jax.tree.map(jnp.ones_like, params)
  moved = []
  for _ in range(3):
    updates, state = tx.update(grads, state, params)
    params = optax.apply_updates(params, updates)
    moved.append((float(params['encoder']['w'][0]), float(params['head']['w'][0])))
  assert moved == [(1.0, 0.0), (1.0, -1.0), (0.0, -2.0)]
