"""The optimizer's max-norm constraint (Kim 2014): hand-checked projection, a key that matches
nothing, and a training run whose output layer stays inside the ball."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from textcls_jax import config_base, models, optim, tasks, train, train_state


def test_max_norm_rescales_only_the_columns_above_the_limit_of_the_matching_kernels():
  params = {'head': {'out': {'kernel': jnp.array([[3.0, 0.0], [4.0, 0.1]]),
                             'bias': jnp.array([10.0, 10.0])}},
            'encoder': {'kernel': jnp.array([[30.0], [40.0]])}}
  tx = optim.max_norm(3.0, r'^head/out/kernel$')
  zero = jax.tree.map(jnp.zeros_like, params)
  updates, _ = tx.update(zero, tx.init(params), params)
  new = optax.apply_updates(params, updates)
  # Column 0 had norm 5: scaled by 3/5. Column 1 (norm 0.1) and every other leaf are untouched.
  np.testing.assert_allclose(new['head']['out']['kernel'], [[1.8, 0.0], [2.4, 0.1]], rtol=1e-6)
  np.testing.assert_array_equal(new['head']['out']['bias'], params['head']['out']['bias'])
  np.testing.assert_array_equal(new['encoder']['kernel'], params['encoder']['kernel'])
  # The projection applies to where the update lands, not to the old parameters.
  step = {'head': {'out': {'kernel': jnp.array([[0.0, 0.0], [-4.0, 0.0]]), 'bias': jnp.zeros(2)}},
          'encoder': {'kernel': jnp.zeros((2, 1))}}
  updates, _ = tx.update(step, tx.init(params), params)
  np.testing.assert_allclose(optax.apply_updates(params, updates)['head']['out']['kernel'],
                             [[3.0, 0.0], [0.0, 0.1]], rtol=1e-6)


def test_a_max_norm_regex_that_matches_no_parameter_is_refused_naming_the_key():
  with pytest.raises(ValueError, match=r"optim.max_norm_regex='\^nothing\$' matches no parameter"):
    optim.max_norm(3.0, r'^nothing$').init({'head': {'out': {'kernel': jnp.ones((2, 2))}}})


def test_training_with_max_norm_keeps_the_output_layer_inside_the_ball():
  config = config_base.base_config()
  config.model = config_base.cnn_model()
  config.model.update(embed_dim=8, num_filters=4, head_dropout=0.0, dropout=0.0)
  config.optim.update(learning_rate=0.1, warmup_steps=0, schedule='constant', max_norm=0.05)
  model = models.build_classifier(config.model, 50, 3, pad_id=0)
  state = train_state.create_train_state(config, model, (jnp.ones((1, 8), jnp.int32),),
                                         jax.random.PRNGKey(0))
  rng = np.random.default_rng(0)
  batch = {'tokens': jnp.asarray(rng.integers(4, 50, (16, 8)), jnp.int32),
           'label': jnp.asarray(rng.integers(0, 3, 16), jnp.int32), 'weight': jnp.ones(16)}
  step = jax.jit(lambda s, b: train.train_step(s, b, jax.random.PRNGKey(1),
                                               objective=tasks.classification_objective))
  losses = []
  for _ in range(5):
    state, metrics = step(state, batch)
    losses.append(float(metrics['loss_sum']))
    norms = jnp.linalg.norm(state.params['head']['out']['kernel'], axis=0)
    assert float(norms.max()) <= 0.05 * (1 + 1e-5), norms
  assert losses[-1] < losses[0]  # Still learning, inside the constraint.
