"""The optimizer, built from `config.optim`: schedule, AdamW with a decay mask, clipping."""

from __future__ import annotations

import re

import jax
import optax
from flax import traverse_util


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


def build_optimizer(cfg, total_steps: int) -> optax.GradientTransformation:
  schedule = learning_rate_schedule(cfg, total_steps)
  parts = []
  if cfg.grad_clip_norm:
    parts.append(optax.clip_by_global_norm(cfg.grad_clip_norm))
  parts.append(optax.adamw(schedule, b1=cfg.b1, b2=cfg.b2, eps=cfg.eps,
                           weight_decay=cfg.weight_decay,
                           mask=lambda p: decay_mask(p, cfg.no_decay_regex)))
  return optax.chain(*parts)
