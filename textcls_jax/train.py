"""Training: the train state, the pure train and eval steps, and the loop around them."""

from __future__ import annotations

import functools
import os
import time
from typing import Any, Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import logging
from flax import struct

from textcls_jax import checkpoint as ckpt_lib
from textcls_jax import experiment
from textcls_jax import optim
from textcls_jax import tasks
from textcls_jax import transfer
from textcls_jax import workdir as wd


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


def train_step(state: TrainState, batch: dict, rng: jax.Array, *, objective: Callable,
               axis_name: Optional[str] = None) -> tuple[TrainState, dict]:
  """One optimizer update.

  Args:
    state: the train state.
    batch: the objective's batch (classification: tokens int32 [B, T], label int32 [B], weight
      float32 [B]; MLM: tokens int32 [B, T], weight float32 [B]).
    rng: the run's base key; the step folds in the step number (and the device index under pmap),
      so dropout and MLM masks depend only on (seed, step), also after a resume.
    objective: (apply_fn, params, batch, rng, train) -> (loss, metric sums); see tasks.py.
    axis_name: under jax.pmap, the device axis to average gradients and sum metrics over. Under
      jax.jit (one device, or a sharded global batch) it is None and XLA does the reductions.
  Returns the new state and metric sums, with grad_norm_sum and steps added.
  """
  step_rng = jax.random.fold_in(rng, state.step)
  if axis_name is not None:
    step_rng = jax.random.fold_in(step_rng, jax.lax.axis_index(axis_name))
  loss_fn = lambda params: objective(state.apply_fn, params, batch, step_rng, True)
  (_, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  if axis_name is not None:
    grads = jax.lax.pmean(grads, axis_name)
    metrics = jax.lax.psum(metrics, axis_name)
  updates, opt_state = state.tx.update(grads, state.opt_state, state.params)
  new_state = state.replace(step=state.step + 1, params=optax.apply_updates(state.params, updates),
                            opt_state=opt_state)
  metrics['grad_norm_sum'] = optax.tree.norm(grads)
  metrics['steps'] = jnp.ones((), jnp.float32)
  return new_state, metrics


def eval_step(state: TrainState, batch: dict, rng: jax.Array, *, objective: Callable,
              axis_name: Optional[str] = None) -> dict:
  """Metric sums on one batch; padding examples (weight 0) count for nothing."""
  _, metrics = objective(state.apply_fn, state.params, batch, rng, False)
  if axis_name is not None:
    metrics = jax.lax.psum(metrics, axis_name)
  return metrics


def evaluate(eval_fn, state, batches, rng, summarize, label_names=None) -> dict:
  """Sums eval_fn over the batches (batch i uses fold_in(rng, i): the same masks every time)."""
  sums = None
  for i, batch in enumerate(batches):
    sums = tasks.add_sums(sums, eval_fn(state, batch, jax.random.fold_in(rng, i)))
  return summarize(jax.device_get(sums), label_names, per_class=True)


def _format_duration(seconds: float) -> str:
  seconds = int(max(seconds, 0))
  h, rem = divmod(seconds, 3600)
  return f'{h}h{rem // 60:02d}m' if h else f'{rem // 60}m{rem % 60:02d}s'


class Progress:
  """The console progress line: step, loss, accuracy, steps/s, examples/s and ETA."""

  def __init__(self, start_step: int, total_steps: int, batch_size: int):
    self.total = total_steps
    self.batch_size = batch_size
    self.last_step, self.last_time = start_step, time.perf_counter()

  def line(self, step: int, figures: dict) -> tuple[str, float]:
    now = time.perf_counter()
    rate = (step - self.last_step) / max(now - self.last_time, 1e-9)
    self.last_step, self.last_time = step, now
    eta = _format_duration((self.total - step) / max(rate, 1e-9))
    return (f'step {step}/{self.total} | loss {figures["loss"]:.4f} | acc {figures["accuracy"]:.4f}'
            f' | {rate:.2f} steps/s, {rate * self.batch_size:.0f} ex/s | ETA {eta}'), rate


def save_config(config, workdir: str) -> None:
  path = os.path.join(workdir, wd.CONFIG)
  new = config.to_dict()
  if os.path.exists(path):
    old = wd.read_json(path)
    changed = sorted(k for k in set(_flat(old)) | set(_flat(new))
                     if _flat(old).get(k) != _flat(new).get(k))
    if changed:
      logging.warning('Config differs from the one saved in %s in: %s (the new one is saved)', path,
                      ', '.join(changed))
  wd.write_json(path, new)


def _flat(d, prefix=''):
  out = {}
  for k, v in d.items():
    if isinstance(v, dict):
      out.update(_flat(v, f'{prefix}{k}.'))
    else:
      out[f'{prefix}{k}'] = list(v) if isinstance(v, tuple) else v
  return out


def train_and_evaluate(config, workdir: str) -> dict:
  """Trains as `config` says (task 'classify' or 'mlm') in `workdir`, resuming from its latest
  checkpoint. Returns the last evaluation's figures."""
  import tensorflow as tf
  tf.config.set_visible_devices([], 'GPU')  # The input pipeline must not take accelerator memory.
  from clu import metric_writers

  wd.check_writable(workdir)
  if config.init_from:  # Refuse a mismatched init_from before anything is written.
    transfer.check_compatible(config.init_from,
                              transfer.pretrained_config(config.init_from).model.to_dict(),
                              config.model.to_dict())
  save_config(config, workdir)
  exp = experiment.build_experiment(config, workdir)
  total_steps = config.train.num_steps
  init_rng, base_rng = jax.random.split(jax.random.PRNGKey(config.seed))
  state = experiment.create_train_state(config, exp.model, exp.init_inputs, init_rng)
  logging.info('Model %s (%s): %s parameters', config.model.name, config.task,
               f'{sum(x.size for x in jax.tree.leaves(state.params)):,}')

  checkpoints = ckpt_lib.Checkpointer(
      os.path.join(workdir, wd.CHECKPOINTS), max_to_keep=config.checkpoint.max_to_keep,
      best_metric=config.checkpoint.best_metric, best_mode=config.checkpoint.best_mode)
  batch_size = config.train.batch_size
  start_step = 0
  latest = checkpoints.latest_step()
  if latest is not None:
    tree, meta = checkpoints.restore(latest, {'state': _state_tree(state), 'rng': base_rng})
    state = state.replace(**tree['state'])
    base_rng = tree['rng']
    start_step = int(state.step)
    if meta['data_position'] != start_step * batch_size:
      raise ValueError(f'checkpoint {latest}: data position {meta["data_position"]} does not match '
                       f'step {start_step} x batch {batch_size}; was train.batch_size changed?')
    logging.info('Resuming from step %d (data position %d)', start_step, meta['data_position'])
  elif config.init_from:
    encoder, _ = transfer.load_encoder_params(config.init_from)
    params = transfer.replace_encoder(state.params, encoder, config.init_from)
    state = state.replace(params=params, opt_state=state.tx.init(params))

  objective = exp.objective
  jit_train_step = jax.jit(functools.partial(train_step, objective=objective), donate_argnums=(0,))
  jit_eval_step = jax.jit(functools.partial(eval_step, objective=objective))
  eval_rng = jax.random.PRNGKey(config.seed + 1)  # Fixed: MLM eval masks are the same each time.
  is_main = jax.process_index() == 0
  writer = metric_writers.create_default_writer(os.path.join(workdir, wd.TENSORBOARD),
                                                just_logging=not is_main, asynchronous=True)
  metrics_file = wd.MetricsFile(os.path.join(workdir, wd.METRICS), resume_step=start_step)
  progress = Progress(start_step, total_steps, batch_size)
  train_sums, dev_figures = None, {}
  schedule = optim.learning_rate_schedule(config.optim, total_steps)

  def evaluate_and_record(step):
    figures = evaluate(jit_eval_step, state, exp.eval_batches(), eval_rng, exp.summarize,
                       exp.label_names)
    logging.info('dev @ step %d: %s (count %d)', step, ', '.join(
        f'{k} {figures[k]:.4f}' for k in ('accuracy', 'macro_f1', 'loss', 'perplexity')
        if k in figures), figures['count'])
    writer.write_scalars(step, {f'dev/{k}': v for k, v in figures.items()})
    metrics_file.write(step, 'dev', figures)
    return figures

  train_iter = exp.train_batches(start_step)
  step = start_step
  try:
    while step < total_steps:
      batch = next(train_iter)
      state, metrics = jit_train_step(state, batch, base_rng)
      train_sums = tasks.add_sums(train_sums, metrics)  # Stays on device until logged.
      step += 1
      if step % config.train.log_every_steps == 0 or step == total_steps:
        sums = jax.device_get(train_sums)
        figures = exp.summarize(sums)
        figures['grad_norm'] = float(sums['grad_norm_sum'] / sums['steps'])
        figures['learning_rate'] = float(schedule(step - 1))
        line, rate = progress.line(step, figures)
        figures['steps_per_s'] = rate
        logging.info('%s', line)
        writer.write_scalars(step, {f'train/{k}': v for k, v in figures.items()})
        metrics_file.write(step, 'train', figures)
        train_sums = None
      evaluated = step % config.train.eval_every_steps == 0 or step == total_steps
      if evaluated:
        dev_figures = evaluate_and_record(step)
      if step % config.checkpoint.every_steps == 0 or step == total_steps:
        checkpoints.save(step, {'state': _state_tree(state), 'rng': base_rng},
                         meta={'step': step, 'data_position': step * batch_size,
                               'metrics': dev_figures if evaluated else {}},
                         metrics=dev_figures if evaluated else None)
    if start_step == total_steps and latest is not None:
      dev_figures = checkpoints.read_meta(latest).get('metrics') or evaluate_and_record(step)
      logging.info('Training already finished at step %d', step)
  finally:
    checkpoints.close()  # Waits for the async save; its errors are raised, not swallowed.
    writer.flush()
    writer.close()
    metrics_file.close()
  return dev_figures


def _state_tree(state: TrainState) -> dict:
  return {'step': state.step, 'params': state.params, 'opt_state': state.opt_state}
