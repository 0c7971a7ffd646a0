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
from textcls_jax import models
from textcls_jax import optim
from textcls_jax import tasks
from textcls_jax import workdir as wd
from textcls_jax.data import pipeline
from textcls_jax.data import prepare


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


def init_params(model, rng, max_len: int):
  tokens = jnp.ones((1, max_len), jnp.int32)
  return jax.jit(functools.partial(model.init, train=False))(rng, tokens)['params']


def train_step(state: TrainState, batch: dict, rng: jax.Array, *,
               axis_name: Optional[str] = None) -> tuple[TrainState, dict]:
  """One optimizer update on a classification batch.

  Args:
    state: the train state.
    batch: tokens int32 [B, T], label int32 [B], weight float32 [B].
    rng: the run's base dropout key; the step folds in the step number (and the device index under
      pmap), so a step's dropout depends only on (seed, step).
    axis_name: under jax.pmap, the device axis to average gradients and sum metrics over. Under
      jax.jit (one device, or a sharded global batch) it is None and XLA does the reductions.
  Returns the new state and metric sums (see tasks.classification_metric_sums) plus grad_norm.
  """
  step_rng = jax.random.fold_in(rng, state.step)
  if axis_name is not None:
    step_rng = jax.random.fold_in(step_rng, jax.lax.axis_index(axis_name))

  def loss_fn(params):
    logits = state.apply_fn({'params': params}, batch['tokens'], train=True,
                            rngs={'dropout': step_rng})
    return tasks.classification_loss(logits, batch['label'], batch['weight']), logits

  (_, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  if axis_name is not None:
    grads = jax.lax.pmean(grads, axis_name)
  updates, opt_state = state.tx.update(grads, state.opt_state, state.params)
  new_state = state.replace(step=state.step + 1, params=optax.apply_updates(state.params, updates),
                            opt_state=opt_state)
  metrics = tasks.classification_metric_sums(logits, batch['label'], batch['weight'])
  if axis_name is not None:
    metrics = jax.lax.psum(metrics, axis_name)
  metrics['grad_norm_sum'] = optax.tree.norm(grads)
  metrics['steps'] = jnp.ones((), jnp.float32)
  return new_state, metrics


def eval_step(state: TrainState, batch: dict, *, axis_name: Optional[str] = None) -> dict:
  """Metric sums of the model on one batch; padding examples (weight 0) count for nothing."""
  logits = state.apply_fn({'params': state.params}, batch['tokens'], train=False)
  metrics = tasks.classification_metric_sums(logits, batch['label'], batch['weight'])
  if axis_name is not None:
    metrics = jax.lax.psum(metrics, axis_name)
  return metrics


def evaluate(eval_fn, state, dataset, label_names) -> dict:
  sums = None
  for batch in dataset.as_numpy_iterator():
    sums = tasks.add_sums(sums, eval_fn(state, batch))
  return tasks.summarize_classification(jax.device_get(sums), label_names, per_class=True)


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
  """Trains a classifier as `config` says, in `workdir`, resuming from its latest checkpoint.

  Returns the last dev evaluation's figures.
  """
  import tensorflow as tf
  tf.config.set_visible_devices([], 'GPU')  # The input pipeline must not take accelerator memory.
  from clu import metric_writers

  wd.check_writable(workdir)
  save_config(config, workdir)
  data = prepare.prepare_classification(config, workdir)

  model = models.build_classifier(config.model, data.tokenizer.vocab_size, len(data.labels))
  total_steps = config.train.num_steps
  tx = optim.build_optimizer(config.optim, total_steps)
  init_rng, dropout_rng = jax.random.split(jax.random.PRNGKey(config.seed))
  state = TrainState.create(apply_fn=model.apply, params=init_params(model, init_rng,
                                                                      config.data.max_len), tx=tx)
  logging.info('Model %s: %s parameters', config.model.name,
               f'{sum(x.size for x in jax.tree.leaves(state.params)):,}')

  checkpoints = ckpt_lib.Checkpointer(
      os.path.join(workdir, wd.CHECKPOINTS), max_to_keep=config.checkpoint.max_to_keep,
      best_metric=config.checkpoint.best_metric, best_mode=config.checkpoint.best_mode)
  batch_size = config.train.batch_size
  start_step = 0
  latest = checkpoints.latest_step()
  if latest is not None:
    tree, meta = checkpoints.restore(latest, {'state': _state_tree(state), 'rng': dropout_rng})
    state = state.replace(**tree['state'])
    dropout_rng = tree['rng']
    start_step = int(state.step)
    if meta['data_position'] != start_step * batch_size:
      raise ValueError(f'checkpoint {latest}: data position {meta["data_position"]} does not match '
                       f'step {start_step} x batch {batch_size}; was train.batch_size changed?')
    logging.info('Resuming from step %d (data position %d)', start_step, meta['data_position'])

  data_cfg = config.data
  train_ds = pipeline.classification_dataset(
      data.train_texts, data.train_labels, data.tokenizer, batch_size=batch_size,
      max_len=data_cfg.max_len, length_buckets=data_cfg.length_buckets, train=True,
      seed=config.seed, start_step=start_step, sort_window=data_cfg.sort_window_batches)
  dev_ds = pipeline.classification_dataset(
      data.dev_texts, data.dev_labels, data.tokenizer, batch_size=config.eval.batch_size,
      max_len=data_cfg.max_len, length_buckets=data_cfg.length_buckets, train=False)

  jit_train_step = jax.jit(train_step, donate_argnums=(0,))
  jit_eval_step = jax.jit(eval_step)
  is_main = jax.process_index() == 0
  writer = metric_writers.create_default_writer(os.path.join(workdir, wd.TENSORBOARD),
                                                just_logging=not is_main, asynchronous=True)
  metrics_file = wd.MetricsFile(os.path.join(workdir, wd.METRICS), resume_step=start_step)
  progress = Progress(start_step, total_steps, batch_size)
  train_sums, dev_figures = None, {}

  def evaluate_and_record(step):
    figures = evaluate(jit_eval_step, state, dev_ds, data.labels.names)
    logging.info('dev @ step %d: accuracy %.4f, macro-F1 %.4f, loss %.4f (%d examples)', step,
                 figures['accuracy'], figures['macro_f1'], figures['loss'], figures['count'])
    writer.write_scalars(step, {f'dev/{k}': v for k, v in figures.items()})
    metrics_file.write(step, 'dev', figures)
    return figures

  train_iter = train_ds.as_numpy_iterator()
  step = start_step
  try:
    while step < total_steps:
      batch = next(train_iter)
      state, metrics = jit_train_step(state, batch, dropout_rng)
      train_sums = tasks.add_sums(train_sums, metrics)  # Stays on device until logged.
      step += 1
      if step % config.train.log_every_steps == 0 or step == total_steps:
        sums = jax.device_get(train_sums)
        figures = tasks.summarize_classification(sums)
        figures['grad_norm'] = float(sums['grad_norm_sum'] / sums['steps'])
        figures['learning_rate'] = float(optim.learning_rate_schedule(config.optim,
                                                                      total_steps)(step - 1))
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
        checkpoints.save(step, {'state': _state_tree(state), 'rng': dropout_rng},
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
