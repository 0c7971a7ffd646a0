"""The train state: what it holds, how a fresh or abstract one is made, the checkpoint layout.

A checkpoint's array item is `{'state': {'step', 'params', 'opt_state'}, 'rng': key}`. Only this
module spells it: training saves and restores it, `predict` and `init_from` read the parameters
out of it, all through `checkpoint_item`, `from_checkpoint_item` and `abstract_checkpoint_item`.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional

import jax
import jax.numpy as jnp
import optax
from flax import struct

from textcls_jax import optim
from textcls_jax.models import common
from textcls_jax.models import lora


class TrainState(struct.PyTreeNode):
  """Everything that changes during training. `step` is an int32 array so that it checkpoints.

  trainable: None (every parameter trains), or a regex over 'a/b/c' parameter paths: only those
  that match get gradients and optimizer state (low-rank adapters: lora.TRAINABLE); the others
  stay as they are. The optimizer's state then covers the trainable part alone.
  """
  step: jax.Array
  params: Any
  opt_state: Any
  apply_fn: Callable = struct.field(pytree_node=False)
  tx: optax.GradientTransformation = struct.field(pytree_node=False)
  trainable: Optional[str] = struct.field(pytree_node=False, default=None)

  @classmethod
  def create(cls, *, apply_fn, params, tx, trainable: Optional[str] = None) -> 'TrainState':
    return cls(step=jnp.zeros((), jnp.int32), params=params,
               opt_state=tx.init(partition(params, trainable)[0]), apply_fn=apply_fn, tx=tx,
               trainable=trainable)

  def with_params(self, params) -> 'TrainState':
    """This state with other parameters (a pretrained encoder's) and a fresh optimizer state."""
    return self.replace(params=params, opt_state=self.tx.init(partition(params,
                                                                        self.trainable)[0]))


def partition(params, trainable: Optional[str]) -> tuple[Any, Any]:
  """params -> (the trainable part, the frozen part), two trees of the same paths as params'
  (TrainState.trainable); with trainable None, (params, {})."""
  if trainable is None:
    return params, {}
  return common.split_by_path(params, trainable)


def combine(trainable_part, frozen_part):
  """The inverse of partition."""
  return common.join(trainable_part, frozen_part) if frozen_part else trainable_part


def parameter_counts(state: TrainState) -> tuple[int, int]:
  """(parameters, of which trainable)."""
  trainable, _ = partition(state.params, state.trainable)
  count = lambda tree: sum(int(x.size) for x in jax.tree.leaves(tree))
  return count(state.params), count(trainable)


def init_params(model, rng, init_inputs: tuple):
  return jax.jit(functools.partial(model.init, train=False))(rng, *init_inputs)['params']


def create_train_state(config, model, init_inputs: tuple, rng) -> TrainState:
  """A fresh TrainState: initialized parameters and the optimizer config.optim/config.finetune."""
  params = init_params(model, rng, init_inputs)
  trainable = lora.TRAINABLE if lora.from_config(config.get('finetune')) else None
  tx = optim.build_optimizer(config.optim, config.train.num_steps, config.get('finetune'),
                             partition(params, trainable)[0], config.model.name)
  return TrainState.create(apply_fn=model.apply, params=params, tx=tx, trainable=trainable)


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
