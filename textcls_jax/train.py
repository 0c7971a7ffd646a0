"""Training: the train state, the pure train and eval steps, and the loop around them."""

from __future__ import annotations

import functools
import os
import threading
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
from textcls_jax import parallel
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
    rng: the run's base key; the step folds in the step number, so dropout and MLM masks depend
      only on (seed, step), also after a resume.
    objective: (apply_fn, params, batch, rng, train, row_offset) -> (loss, metric sums); see
      tasks.py. row_offset is the global index of the batch's first row (nonzero under pmap), so
      that per-example randomness does not depend on how the batch is split over devices.
    axis_name: under jax.pmap, the device axis to average gradients and sum metrics over. Under
      jax.jit (one device, or a sharded global batch) it is None and XLA does the reductions.
  Returns the new state and metric sums, with grad_norm_sum and steps added.
  """
  step_rng = jax.random.fold_in(rng, state.step)
  row_offset = _row_offset(batch, axis_name)
  def loss_fn(params):
    _, sums = objective(state.apply_fn, params, batch, step_rng, True, row_offset)
    # Normalize by the global count, so that devices holding more predictions (MLM) weigh more:
    # the summed gradient is then exactly the gradient of the global batch's mean loss.
    count = sums['count'] if axis_name is None else jax.lax.psum(sums['count'], axis_name)
    return sums['loss_sum'] / jnp.maximum(count, 1e-8), sums
  (_, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  if axis_name is not None:
    grads = jax.lax.psum(grads, axis_name)
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
  _, metrics = objective(state.apply_fn, state.params, batch, rng, False,
                         _row_offset(batch, axis_name))
  if axis_name is not None:
    metrics = jax.lax.psum(metrics, axis_name)
  return metrics


def _row_offset(batch, axis_name):
  if axis_name is None:
    return 0
  return jax.lax.axis_index(axis_name) * batch['tokens'].shape[0]


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
  checkpoint, data-parallel over every device of every host. Returns the last evaluation's figures.

  The workdir is locked for the run: a second live run on it is refused (WorkdirBusyError).
  SIGTERM or SIGINT stops the run after the current step with a checkpoint saved.
  """
  lock = None
  if jax.process_index() == 0:
    wd.check_writable(workdir)
    lock = wd.WorkdirLock(workdir).acquire()
  try:
    return _train_and_evaluate(config, workdir)
  finally:
    if lock:
      lock.release()


def _train_and_evaluate(config, workdir: str) -> dict:
  import tensorflow as tf
  tf.config.set_visible_devices([], 'GPU')  # The input pipeline must not take accelerator memory.
  from clu import metric_writers

  dp = parallel.DataParallel(config.parallel.mode)
  is_main = jax.process_index() == 0
  train_batch = dp.host_batch_size(config.train.batch_size)
  eval_batch = dp.host_batch_size(config.eval.batch_size, 'eval.batch_size')
  if config.init_from:  # Refuse a mismatched init_from before anything is written.
    transfer.check_compatible(config.init_from,
                              transfer.pretrained_config(config.init_from).model.to_dict(),
                              config.model.to_dict())
  # Process 0 makes the workdir's files (tokenizer, labels, token caches, then the config, so that
  # bad input leaves none); the others wait for it and then read them.
  if not is_main:
    _barrier('workdir prepared')
  exp = experiment.build_experiment(config, workdir, train_batch=train_batch,
                                    eval_batch=eval_batch, num_hosts=dp.num_hosts,
                                    host_id=dp.host_id)
  if is_main:
    save_config(config, workdir)
    if jax.process_count() > 1:
      _barrier('workdir prepared')
  total_steps = config.train.num_steps
  init_rng, base_rng = jax.random.split(jax.random.PRNGKey(config.seed))
  state = experiment.create_train_state(config, exp.model, exp.init_inputs, init_rng)
  logging.info('Model %s (%s): %s parameters; %s mode on %d device(s), %d host(s)',
               config.model.name, config.task,
               f'{sum(x.size for x in jax.tree.leaves(state.params)):,}', dp.mode, dp.num_devices,
               dp.num_hosts)

  checkpoints = ckpt_lib.Checkpointer(
      os.path.join(workdir, wd.CHECKPOINTS), max_to_keep=config.checkpoint.max_to_keep,
      best_metric=config.checkpoint.best_metric, best_mode=config.checkpoint.best_mode)
  start_step = 0
  latest = checkpoints.latest_step()
  if latest is not None:
    target = dp.replicate_plain({'state': _state_tree(state), 'rng': base_rng})
    tree, meta = checkpoints.restore(latest, target)
    state = state.replace(**tree['state'])
    base_rng = tree['rng']
    start_step = int(jax.device_get(tree['state']['step']))
    if meta['data_position'] != start_step * config.train.batch_size:
      raise ValueError(f'checkpoint {latest}: data position {meta["data_position"]} does not match '
                       f'step {start_step} x batch {config.train.batch_size}; was '
                       'train.batch_size changed?')
    logging.info('Resuming from step %d (data position %d)', start_step, meta['data_position'])
  elif config.init_from:
    encoder, _ = transfer.load_encoder_params(config.init_from)
    params = transfer.replace_encoder(state.params, encoder, config.init_from)
    state = state.replace(params=params, opt_state=state.tx.init(params))
  state = dp.put_state(state)
  base_rng = dp.replicate_plain(base_rng) if dp.mode == 'jit' else jax.device_get(base_rng)

  objective = exp.objective
  p_train_step = dp.compile_train_step(functools.partial(train_step, objective=objective))
  p_eval_step = dp.compile_eval_step(functools.partial(eval_step, objective=objective))
  eval_rng = jax.random.PRNGKey(config.seed + 1)  # Fixed: MLM eval masks are the same each time.
  writer = metric_writers.create_default_writer(os.path.join(workdir, wd.TENSORBOARD),
                                                just_logging=not is_main, asynchronous=True)
  metrics_file = (wd.MetricsFile(os.path.join(workdir, wd.METRICS), resume_step=start_step)
                  if is_main else None)
  progress = Progress(start_step, total_steps, config.train.batch_size)
  train_sums, dev_figures = None, {}
  schedule = optim.learning_rate_schedule(config.optim, total_steps)

  def record(step, split, figures):
    writer.write_scalars(step, {f'{split}/{k}': v for k, v in figures.items()})
    if metrics_file:
      metrics_file.write(step, split, figures)

  def evaluate_and_record(step):
    batches = (dp.put_batch(b) for b in exp.eval_batches())
    figures = evaluate(p_eval_step, state, batches, eval_rng, exp.summarize, exp.label_names)
    if is_main:
      logging.info('dev @ step %d: %s (count %d)', step, ', '.join(
          f'{k} {figures[k]:.4f}' for k in ('accuracy', 'macro_f1', 'loss', 'perplexity')
          if k in figures), figures['count'])
    record(step, 'dev', figures)
    return figures

  train_iter = exp.train_batches(start_step)
  step = start_step
  preemption = PreemptionHandler()
  try:
    while step < total_steps:
      if preemption.requested(step, config.train.log_every_steps):
        checkpoints.save(step, {'state': _state_tree(dp.to_checkpoint_layout(state)),
                                'rng': dp.replicate_plain(base_rng)},
                         meta={'step': step, 'data_position': step * config.train.batch_size,
                               'metrics': {}}, metrics=None)
        checkpoints.wait()
        logging.warning('Stopped by %s at step %d; checkpoint saved. Run the same command to '
                        'resume.', preemption.signal_name, step)
        break
      batch = dp.put_batch(next(train_iter))
      state, metrics = p_train_step(state, batch, base_rng)
      train_sums = tasks.add_sums(train_sums, metrics)  # Stays on device until logged.
      step += 1
      if step % config.train.log_every_steps == 0 or step == total_steps:
        sums = jax.device_get(train_sums)
        figures = exp.summarize(sums)
        figures['grad_norm'] = float(sums['grad_norm_sum'] / sums['steps'])
        figures['learning_rate'] = float(schedule(step - 1))
        line, rate = progress.line(step, figures)
        figures['steps_per_s'] = rate
        if is_main:
          logging.info('%s', line)
        record(step, 'train', figures)
        train_sums = None
      evaluated = step % config.train.eval_every_steps == 0 or step == total_steps
      if evaluated:
        dev_figures = evaluate_and_record(step)
      if step % config.checkpoint.every_steps == 0 or step == total_steps:
        checkpoints.save(step, {'state': _state_tree(dp.to_checkpoint_layout(state)),
                                'rng': dp.replicate_plain(base_rng)},
                         meta={'step': step, 'data_position': step * config.train.batch_size,
                               'metrics': dev_figures if evaluated else {}},
                         metrics=dev_figures if evaluated else None)
    if start_step == total_steps and latest is not None:
      dev_figures = checkpoints.read_meta(latest).get('metrics') or evaluate_and_record(step)
      logging.info('Training already finished at step %d', step)
  finally:
    preemption.restore()
    checkpoints.close()  # Waits for the async save; its errors are raised, not swallowed.
    writer.flush()
    writer.close()
    if metrics_file:
      metrics_file.close()
  return dev_figures


class PreemptionHandler:
  """SIGTERM/SIGINT ask the loop to stop after the current step, save, and return normally.

  With several processes the request is agreed on every `every` steps (all processes must save
  together); with one process it is honoured at the next step.
  """

  def __init__(self):
    import signal
    self._signal = signal
    self.signal_name = None
    self._previous = {}
    if threading.current_thread() is threading.main_thread():
      for sig in (signal.SIGTERM, signal.SIGINT):
        self._previous[sig] = signal.signal(sig, self._handle)

  def _handle(self, signum, frame):
    del frame
    self.signal_name = self._signal.Signals(signum).name

  def requested(self, step: int, every: int) -> bool:
    if jax.process_count() == 1:
      return self.signal_name is not None
    if step % every:
      return False
    from jax.experimental import multihost_utils
    flags = multihost_utils.process_allgather(np.int32(self.signal_name is not None))
    if flags.any() and self.signal_name is None:
      self.signal_name = 'a signal to another process'
    return bool(flags.any())

  def restore(self) -> None:
    for sig, handler in self._previous.items():
      self._signal.signal(sig, handler)
    self._previous = {}


def _barrier(name: str) -> None:
  from jax.experimental import multihost_utils
  multihost_utils.sync_global_devices(name)


def _state_tree(state: TrainState) -> dict:
  return {'step': state.step, 'params': state.params, 'opt_state': state.opt_state}
