"""The train state: what it holds, how a fresh or abstract one is made, the checkpoint layout.

A checkpoint's array item is `{'state': {'step', 'params', 'opt_state'}, 'rng': key}`. Only this
module spells it: training saves and restores it, `predict` and `init_from` read the parameters
out of it, all through `checkpoint_item`, `from_checkpoint_item` and `abstract_checkpoint_item`.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax
from flax import struct

from textcls_jax import optim


class TrainState(struct.PyTreeNode):
  """Everything that changes during training. `step` is an int32 array so that it checkpoints."""
  step: jax.Array
  params: Any
  opt_state: Any
  apply_fn: Callable = struct.field(pytree_node=False)
  tx: optax.GradientTransformation = struct.field(pytree_node=False)

  @classmethod
  def create(cls, *, apply_fn, params, tx) -> 'TrainState':
    return cls(step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params),
               apply_fn=apply_fn, tx=tx)


def init_params(model, rng, init_inputs: tuple):
  return jax.jit(functools.partial(model.init, train=False))(rng, *init_inputs)['params']


def create_train_state(config, model, init_inputs: tuple, rng) -> TrainState:
  """A fresh TrainState: initialized parameters and the optimizer config.optim/config.finetune."""
  params = init_params(model, rng, init_inputs)
  tx = optim.build_optimizer(config.optim, config.train.num_steps, config.get('finetune'), params,
                             config.model.name)
  return TrainState.create(apply_fn=model.apply, params=params, tx=tx)


def abstract_train_state(config, model, init_inputs: tuple) -> TrainState:
  """The shapes and dtypes of create_train_state's result, computed without any arithmetic."""
  return jax.eval_shape(lambda: create_train_state(config, model, init_inputs,
                                                   jax.random.PRNGKey(0)))


def checkpoint_item(state: TrainState, rng) -> dict:
  """The tree a checkpoint stores: the state's arrays and the run's base key."""
  return {'state': {'step': state.step, 'params': state.params, 'opt_state': state.opt_state},
          'rng': rng}


def from_checkpoint_item(state: TrainState, item: dict) -> tuple[TrainState, Any]:
  """(state with the item's arrays, the item's key): the inverse of checkpoint_item."""
  return state.replace(**item['state']), item['rng']


def abstract_checkpoint_item(config, model, init_inputs: tuple) -> dict:
  """The restore target for a checkpoint of this config's state (shapes and dtypes only)."""
  return checkpoint_item(abstract_train_state(config, model, init_inputs),
                         jax.eval_shape(lambda: jax.random.PRNGKey(0)))


def params_of(item: dict):
  """The parameters of a restored checkpoint item."""
  return item['state']['params']
