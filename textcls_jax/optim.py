"""The optimizer, built from `config.optim`: schedule, AdamW with a decay mask, clipping, and an
optional max-norm constraint (Kim 2014)."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import optax
from flax import traverse_util

from textcls_jax import config_base


def learning_rate_schedule(cfg, total_steps: int):
  """Linear warmup to cfg.learning_rate, then cosine or linear decay to 0 (or constant)."""
  warmup = int(cfg.warmup_steps)
  if cfg.schedule == 'constant':
    return optax.join_schedules([optax.linear_schedule(0.0, cfg.learning_rate, max(warmup, 1)),
                                 optax.constant_schedule(cfg.learning_rate)], [warmup])
  if cfg.schedule == 'cosine':
    return optax.warmup_cosine_decay_schedule(0.0, cfg.learning_rate, max(warmup, 1),
                                              max(total_steps, warmup + 1), end_value=0.0)
  if cfg.schedule == 'linear':
    return optax.join_schedules(
        [optax.linear_schedule(0.0, cfg.learning_rate, max(warmup, 1)),
         optax.linear_schedule(cfg.learning_rate, 0.0, max(total_steps - warmup, 1))], [warmup])
  raise ValueError(f"unknown optim.schedule {cfg.schedule!r}: use 'cosine', 'linear' or 'constant'")


def decay_mask(params, no_decay_regex: str):
  """True for parameters to decay: those whose 'a/b/c' path does not match no_decay_regex."""
  pattern = re.compile(no_decay_regex)
  flat = traverse_util.flatten_dict(params, sep='/')
  return traverse_util.unflatten_dict({k: not pattern.search(k) for k in flat}, sep='/')


def build_optimizer(cfg, total_steps: int, finetune_cfg=None, params=None,
                    model_name: str = '') -> optax.GradientTransformation:
  """clip -> AdamW(schedule, decay mask) [-> layer-wise factors] [-> frozen encoder for K steps]
  [-> max-norm projection].

  The fine-tuning parts (config.finetune) need `params` and `model_name`
  (config.model.name) to know the layers.
  """
  schedule = learning_rate_schedule(cfg, total_steps)
  parts = []
  if cfg.grad_clip_norm:
    parts.append(optax.clip_by_global_norm(cfg.grad_clip_norm))
  parts.append(optax.adamw(schedule, b1=cfg.b1, b2=cfg.b2, eps=cfg.eps,
                           weight_decay=cfg.weight_decay,
                           mask=lambda p: decay_mask(p, cfg.no_decay_regex)))
  if finetune_cfg is not None and finetune_cfg.layer_decay != 1.0:
    parts.append(scale_by_path(layerwise_scales(params, finetune_cfg.layer_decay, model_name)))
  if finetune_cfg is not None and finetune_cfg.freeze_encoder_steps:
    parts.append(freeze_subtree('encoder', finetune_cfg.freeze_encoder_steps))
  if cfg.get('max_norm', 0.0):
    parts.append(max_norm(cfg.max_norm, cfg.max_norm_regex))  # Last: it sees the final update.
  return optax.chain(*parts)


def max_norm(limit: float, regex: str) -> optax.GradientTransformation:
  """After each update, rescales every column (one output unit's weight vector, kernel [in, out])
  of the kernels whose path matches `regex` to an L2 norm of at most `limit` (Kim 2014's
  constraint on the output layer: s = 3). The update returned is the projected parameter minus
  the old one, so params + update is the projection."""
  pattern = re.compile(regex)
  matches = lambda path: bool(pattern.search(path))
  def update(updates, state, params=None):
    if params is None:
      raise ValueError('max_norm needs the parameters in its update')
    selected = _path_scales(updates, matches)
    def project(u, p, on):
      if not on:
        return u
      new = p + u
      norms = jnp.sqrt(jnp.sum(jnp.square(new), axis=0, keepdims=True))
      return new * jnp.minimum(1.0, limit / jnp.maximum(norms, 1e-12)) - p
    return jax.tree.map(project, updates, params, selected), state
  def init(params):
    if not any(jax.tree.leaves(_path_scales(params, matches))):
      raise ValueError(f'optim.max_norm_regex={regex!r} matches no parameter (the paths look like '
                       f'{next(iter(traverse_util.flatten_dict(params, sep="/")))!r})')
    return optax.EmptyState()
  return optax.GradientTransformation(init, update)


def _path_scales(params, scale_of_path):
  flat = traverse_util.flatten_dict(params, sep='/')
  return traverse_util.unflatten_dict({k: scale_of_path(k) for k in flat}, sep='/')


def layerwise_scales(params, decay: float, model_name: str):
  """Per-parameter learning-rate factors: decay^(depth below the top) in a `model_name` encoder
  (config_base.ENCODER_FAMILIES names its layers' and embeddings' paths).

  The head and what sits above the layers (a Transformer's final LayerNorm) get 1, layer i of L
  gets decay^(L - i), the embeddings decay^(L + 1) (decay itself where the family has no layers).
  """
  family = config_base.ENCODER_FAMILIES[model_name]
  layer = re.compile(family.layer_regex) if family.layer_regex else None
  layers = {int(m.group(1)) for k in traverse_util.flatten_dict(params, sep='/')
            if layer and (m := layer.search(k))}
  num_layers = max(layers) + 1 if layers else 0
  def scale(path):
    if layer and (m := layer.search(path)):
      return decay ** (num_layers - int(m.group(1)))
    if re.search(family.embedding_regex, path):
      return decay ** (num_layers + 1)
    return 1.0
  return _path_scales(params, scale)


def freeze_subtree(prefix: str, steps: int) -> optax.GradientTransformation:
  """Zeroes the updates of parameters under `prefix` ('encoder') for the first `steps` updates."""
  def init(params):
    del params
    return optax.ScaleByScheduleState(count=jnp.zeros([], jnp.int32))
  def update(updates, state, params=None):
    del params
    live = (state.count >= steps).astype(jnp.float32)
    frozen = _path_scales(updates, lambda path: path.startswith(prefix + '/'))
    updates = jax.tree.map(lambda u, f: u * live if f else u, updates, frozen)
    return updates, optax.ScaleByScheduleState(count=optax.safe_increment(state.count))
  return optax.GradientTransformation(init, update)


def scale_by_path(scales) -> optax.GradientTransformation:
  """Multiplies each update by a fixed per-parameter factor (a tree like the params)."""
  def update(updates, state, params=None):
    del params
    return jax.tree.map(lambda u, s: u * s, updates, scales), state
  return optax.GradientTransformation(lambda params: optax.EmptyState(), update)
