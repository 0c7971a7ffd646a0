"""Training: the pure train and eval steps, and the loop around them."""

from __future__ import annotations

import functools
import threading
import time
from typing import Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import logging

from textcls_jax import checkpoint as ckpt_lib
from textcls_jax import compile_cache
from textcls_jax import config_base
from textcls_jax import config_checks
from textcls_jax import experiment
from textcls_jax import failures
from textcls_jax import optim
from textcls_jax import parallel
from textcls_jax import run_log as run_log_lib
from textcls_jax import start
from textcls_jax import tasks
from textcls_jax import train_state
from textcls_jax import transfer
from textcls_jax import workdir as wd
from textcls_jax import xla_options
from textcls_jax.data import sources
from textcls_jax.data import tokenizer as tok


def train_step(state: train_state.TrainState, batch: dict, rng: jax.Array, *,
               objective: Callable, axis_name: Optional[str] = None, grad_accum_steps: int = 1
               ) -> tuple[train_state.TrainState, dict]:
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
    grad_accum_steps: k > 1 splits the batch into k micro-batches of B/k rows, run one after
      another (lax.scan: the activations of one micro-batch at a time), their summed gradient
      making the one update: the update of the whole batch, to float32 rounding, with dropout drawn
      per micro-batch (MLM masks stay per row, the same as unsplit).
  Returns the new state and metric sums, with grad_norm_sum, steps (applied updates) and
  nonfinite_steps (0 or 1) added; a step whose loss or gradient is not finite applies no update and
  contributes only nonfinite_steps.
  """
  step_rng = jax.random.fold_in(rng, state.step)
  row_offset = _row_offset(batch, axis_name)
  # Gradients of the trainable part alone (all of it unless state.trainable says otherwise): a
  # frozen weight's gradient is never formed.
  trainable, frozen = train_state.partition(state.params, state.trainable)
  if grad_accum_steps == 1:
    def loss_fn(trainable):
      params = train_state.combine(trainable, frozen)
      _, sums = objective(state.apply_fn, params, batch, step_rng, True, row_offset)
      # Normalize by the global count, so that devices holding more predictions (MLM) weigh more:
      # the summed gradient is then exactly the gradient of the global batch's mean loss.
      count = sums['count'] if axis_name is None else jax.lax.psum(sums['count'], axis_name)
      return sums['loss_sum'] / jnp.maximum(count, 1e-8), sums
    (_, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(trainable)
  else:
    grads, metrics = _accumulated_gradient(state, trainable, frozen, batch, step_rng, objective,
                                           row_offset, grad_accum_steps, axis_name)
  if axis_name is not None:
    grads = jax.lax.psum(grads, axis_name)
    metrics = jax.lax.psum(metrics, axis_name)
  grad_norm = optax.tree.norm(grads)
  finite = jnp.isfinite(metrics['loss_sum']) & jnp.isfinite(grad_norm)
  # A non-finite loss or gradient leaves params and optimizer state as they were, so that neither
  # the state nor a checkpoint ever holds NaN; the step still advances (the data moves on) and the
  # loop stops or counts the skip (config.train.on_nonfinite). A cond, not a select over both
  # trees: the update runs only when it is kept (the CNN benchmark step 2-6% faster).
  def update(params, opt_state):
    updates, opt_state = state.tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state
  trainable, opt_state = jax.lax.cond(finite, update,
                                      lambda params, opt_state: (params, opt_state),
                                      trainable, state.opt_state)
  new_state = state.replace(step=state.step + 1, params=train_state.combine(trainable, frozen),
                            opt_state=opt_state)
  metrics = jax.tree.map(lambda m: jnp.where(finite, m, jnp.zeros_like(m)), metrics)
  metrics['grad_norm_sum'] = jnp.where(finite, grad_norm, 0.0)
  metrics['steps'] = finite.astype(jnp.float32)
  metrics['nonfinite_steps'] = 1.0 - metrics['steps']
  return new_state, metrics


def _accumulated_gradient(state, trainable, frozen, batch, step_rng, objective, row_offset, k,
                          axis_name):
  """(gradient of the batch's mean loss with respect to `trainable`, its metric sums), computed
  over k micro-batches.

  The loss sums' gradients are summed and divided once by the global count, which (for MLM) is
  known only after every micro-batch has drawn its masks.
  """
  rows = batch['tokens'].shape[0]
  micro = jax.tree.map(lambda x: x.reshape((k, rows // k) + x.shape[1:]), batch)
  def loss_sum_fn(trainable, micro_batch, offset):
    params = train_state.combine(trainable, frozen)
    _, sums = objective(state.apply_fn, params, micro_batch, step_rng, True, offset)
    return sums['loss_sum'], sums
  def one(carry, inputs):
    grads, sums = carry
    i, micro_batch = inputs
    (_, micro_sums), micro_grads = jax.value_and_grad(loss_sum_fn, has_aux=True)(
        trainable, micro_batch, row_offset + i * (rows // k))
    return (jax.tree.map(jnp.add, grads, micro_grads), tasks.add_sums(sums, micro_sums)), None
  _, sums_shape = jax.eval_shape(loss_sum_fn, trainable,
                                 jax.tree.map(lambda x: x[0], micro), row_offset)
  zero_sums = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), sums_shape)
  zero_grads = jax.tree.map(jnp.zeros_like, trainable)
  (grads, sums), _ = jax.lax.scan(one, (zero_grads, zero_sums), (jnp.arange(k), micro))
  count = sums['count'] if axis_name is None else jax.lax.psum(sums['count'], axis_name)
  return jax.tree.map(lambda g: g / jnp.maximum(count, 1e-8), grads), sums


def eval_step(state: train_state.TrainState, batch: dict, rng: jax.Array, *,
              objective: Callable, axis_name: Optional[str] = None) -> dict:
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


def train_and_evaluate(config, workdir: str) -> dict:
  """Trains as `config` says (task 'classify', 'mlm' or 'rtd') in `workdir`, resuming from its
  latest checkpoint, data-parallel over every device of every host. Returns the last evaluation's figures.

  Before anything is written: the config's values are checked (ConfigError), and so is a re-run's
  config against the workdir's saved one (ConfigError naming each key whose change the saved state
  cannot take). config.json is replaced only once the state is restored. The workdir is locked for
  the run: a second live run on it is refused (WorkdirBusyError). SIGTERM or SIGINT stops the run
  after the current step with a checkpoint saved.
  """
  checked = start.check(config, workdir)  # Before anything is written.
  compile_cache.enable(config.get('compilation_cache', ''))  # Before the first compile.
  dp = parallel.DataParallel(config.parallel.mode)
  # This host's shares of the global batches; sizes the devices cannot split are refused.
  batches = (dp.host_batch_size(config.train.batch_size,
                                micro_batches=config.train.grad_accum_steps),
             dp.host_batch_size(config.eval.batch_size, 'eval.batch_size'))
  lock = None
  if parallel.is_main_process():
    wd.check_writable(workdir)
    lock = wd.WorkdirLock(workdir).acquire()
  try:
    if config.task == config_base.WORD_VECTORS_TASK:  # Not a train step: gensim's word2vec.
      return _word_vectors(config, workdir, checked)
    return _train_and_evaluate(config, workdir, dp, *batches, checked)
  finally:
    if lock:
      lock.release()


def _word_vectors(config, workdir: str, checked: start.Checked) -> dict:
  """Task 'word2vec': process 0 trains the vectors (textcls_jax/word2vec.py); the others wait."""
  from textcls_jax import word2vec
  figures = {}
  if parallel.is_main_process():
    figures = word2vec.train(config, workdir, checked.tokenizer_path(config))
  parallel.barrier('word vectors written')
  return figures


def _train_and_evaluate(config, workdir: str, dp: parallel.DataParallel, train_batch: int,
                        eval_batch: int, checked: start.Checked) -> dict:
  """Sets the run up, trains it to train.num_steps, finishes it (the test split), draws its
  plots; returns the last dev figures."""
  run = _set_up(config, workdir, dp, train_batch, eval_batch, checked)
  try:
    run.train()
    run.finish()
  finally:
    run.close()
  if run.is_main and config.train.plots:
    _draw_plots(workdir)
  return run.dev_figures


def _set_up(config, workdir: str, dp: parallel.DataParallel, train_batch: int, eval_batch: int,
            checked: start.Checked) -> '_Run':
  """The experiment's data and model, the state the run starts from (start.initial_state), the
  workdir's config.json written once that state is restored, and the compiled steps."""
  import tensorflow as tf
  tf.config.set_visible_devices([], 'GPU')  # The input pipeline must not take accelerator memory.
  exp = _prepare_experiment(config, workdir, dp, train_batch, eval_batch, checked)
  init_rng, base_rng = jax.random.split(jax.random.PRNGKey(config.seed))
  state = train_state.create_train_state(config, exp.model, exp.init_inputs, init_rng)
  total, trainable = train_state.parameter_counts(state)
  logging.info('Model %s (%s): %s parameters%s; %s mode on %d device(s), %d host(s)',
               config.model.name, config.task, f'{total:,}',
               f' ({trainable:,} trainable)' if trainable != total else '', dp.mode,
               dp.num_devices, dp.num_hosts)
  checkpoints = ckpt_lib.Checkpointer(
      wd.join(workdir, wd.CHECKPOINTS), max_to_keep=config.checkpoint.max_to_keep,
      best_metric=config.checkpoint.best_metric, best_mode=config.checkpoint.best_mode)
  try:
    state, base_rng, start_step, latest, train_sums = start.initial_state(
        config, checkpoints, dp, state, base_rng, checked.pretrained)
  except BaseException:
    checkpoints.close()  # Its threads would otherwise outlive the error, with noise at exit.
    raise
  if parallel.is_main_process():
    # Only now, with the state restored: a refused run leaves config.json as it was.
    if checked.changed_keys:
      logging.warning('Resuming with changed settings: %s', '; '.join(checked.changed_keys))
    wd.write_config(workdir, config)
  return _Run(config, workdir, dp, exp, checkpoints, state, base_rng, start_step, latest,
              train_sums)


def _prepare_experiment(config, workdir: str, dp: parallel.DataParallel, train_batch: int,
                        eval_batch: int, checked: start.Checked) -> experiment.Experiment:
  """The run's data, model and objective (experiment.build_experiment).

  Process 0 makes the workdir's files (tokenizer, labels, token caches) that do not exist yet,
  after all input is checked, so that bad input leaves none; the others wait for it and then
  read them. Existing files are reused, never rewritten.
  """
  is_main = parallel.is_main_process()
  if not is_main:
    parallel.barrier('workdir prepared')
  exp = experiment.build_experiment(
      config, workdir, train_batch=train_batch, eval_batch=eval_batch, num_hosts=dp.num_hosts,
      host_id=dp.host_id, tokenizer_path=checked.tokenizer_path(config))
  if is_main:
    parallel.barrier('workdir prepared')
  return exp


class _Run:
  """A run once set up: its state on the devices, its compiled steps, its checkpoints and logs, and
  the loop's position. `train` steps it, `finish` ends it, `close` releases what it holds."""

  def __init__(self, config, workdir: str, dp: parallel.DataParallel, exp, checkpoints, state,
               base_rng, start_step: int, latest: Optional[int], train_sums):
    self.config, self.workdir, self.dp, self.exp = config, workdir, dp, exp
    self.checkpoints = checkpoints
    self.is_main = parallel.is_main_process()
    self.state = dp.put_state(state)
    self.base_rng = dp.replicate_plain(base_rng) if dp.mode == 'jit' else jax.device_get(base_rng)
    self.p_train_step = dp.compile_train_step(
        functools.partial(train_step, objective=exp.objective,
                          grad_accum_steps=config.train.grad_accum_steps),
        xla_options.for_step(config.model.name, training=True),
        cache_key=config.to_json_best_effort(sort_keys=True))
    self.p_eval_step = dp.compile_eval_step(
        functools.partial(eval_step, objective=exp.objective),
        xla_options.for_step(config.model.name, training=False))
    # Fixed: MLM eval masks are the same each time.
    self.eval_rng = jax.random.PRNGKey(config.seed + 1)
    self.run_log = run_log_lib.RunLog(workdir, start_step, self.is_main)
    self.total_steps = config.train.num_steps
    self.progress = run_log_lib.Progress(start_step, self.total_steps, config.train.batch_size)
    self.schedule = optim.learning_rate_schedule(config.optim, self.total_steps)
    self.start_step = self.step = start_step
    self.latest = latest  # The restored checkpoint's step, or None.
    self.train_sums = train_sums  # The log window's metric sums, on device until logged.
    self.dev_figures = {}
    self.nonfinite = NonFiniteGuard(checkpoints, self.is_main)
    self.pending = (start_step, 0.0)  # (step, its nonfinite_steps flag) still to check.
    self.last_saved = start_step if latest is not None else None
    self.preemption = None
    self.watch = wd.WorkdirWatch(workdir)

  def train(self) -> None:
    """Steps to train.num_steps, with the periodic work after each step; a SIGTERM or SIGINT ends
    it early, with a checkpoint saved."""
    batches = self.exp.train_batches(self.start_step)
    self.preemption = PreemptionHandler()
    while self.step < self.total_steps:
      if self.preemption.requested(self.step, self.config.train.log_every_steps):
        self._save_and_stop()
        return
      metrics = self._train_step(next(batches))
      self._periodic_work(metrics)

  def _train_step(self, host_batch) -> dict:
    """One optimizer update; returns its metrics (on device), which join the log window's sums."""
    batch = self.dp.put_batch(host_batch)
    began = time.perf_counter()
    self.state, metrics = self.p_train_step(self.state, batch, self.base_rng)
    if self.step == self.start_step:
      jax.block_until_ready(metrics)
      logging.info('First step: %.2f s, compile included (compilation cache: %s)',
                   time.perf_counter() - began, jax.config.jax_compilation_cache_dir or 'off')
    self.train_sums = tasks.add_sums(self.train_sums, metrics)  # Stays on device until logged.
    self.step += 1
    return metrics

  def _periodic_work(self, metrics: dict) -> None:
    """After a step: the non-finite check, and the log, dev evaluation and save due at it."""
    step, train_cfg = self.step, self.config.train
    save_now = _due(step, self.config.checkpoint.every_steps, self.total_steps)
    if train_cfg.on_nonfinite == 'stop':
      # Checked one step behind, so that the host need not wait for the step just dispatched;
      # checked at once before a save, so that no checkpoint is written past a bad step.
      self.nonfinite.check(*self.pending)
      self.pending = (step, metrics['nonfinite_steps'])
      if save_now:
        self.nonfinite.check(*self.pending)
    if _due(step, train_cfg.log_every_steps, self.total_steps):
      self._log_train()
      self.train_sums = None
    evaluated = _due(step, train_cfg.eval_every_steps, self.total_steps)
    if evaluated:
      self.dev_figures = self._evaluate_and_record()
    if save_now:
      self._save(self.dev_figures if evaluated else None)
      self.last_saved = step

  def _save_and_stop(self) -> None:
    """Saves the step a stop signal came at (with the log window's sums), and says so."""
    if self.config.train.on_nonfinite == 'stop':
      self.nonfinite.check(*self.pending)
    if self.step != self.last_saved:  # (The signal may come right after a periodic save.)
      self._save(train_sums=tasks.sums_to_json(self.train_sums))
    self.checkpoints.wait()
    logging.warning('Stopped by %s at step %d; checkpoint saved. Run the same command to '
                    'resume.', self.preemption.signal_name, self.step)

  def finish(self) -> None:
    """A re-run of a finished run reports its last figures; the held-out test split is evaluated
    once, when the run has reached its last step."""
    if self.start_step == self.total_steps and self.latest is not None:
      self.dev_figures = (ckpt_lib.meta_dev_figures(self.checkpoints.read_meta(self.latest))
                          or self._evaluate_and_record())
      logging.info('Training already finished at step %d', self.step)
    if (self.exp.test_batches is not None and self.step == self.total_steps
        and not any(r['split'] == 'test' for r in wd.read_metrics(self.workdir))):
      self._evaluate_test()

  def close(self) -> None:
    """Restores the signal handlers, and waits for the last save (its errors are raised, not
    swallowed) and the logs."""
    if self.preemption is not None:
      self.preemption.restore()
    self.checkpoints.close()
    self.run_log.close()

  def _evaluate_and_record(self, split: str = 'dev', batches_fn=None, evaluated=None,
                           **extra) -> dict:
    """The figures of `evaluated` (the current state by default) on a split (dev by default),
    logged and written to the run log at the current step with `extra`."""
    batches = (self.dp.put_batch(b) for b in (batches_fn or self.exp.eval_batches)())
    figures = evaluate(self.p_eval_step, evaluated or self.state, batches, self.eval_rng,
                       self.exp.summarize, self.exp.label_names)
    if self.is_main:
      logging.info('%s @ step %d: %s (count %d)%s', split, self.step, ', '.join(
          f'{k} {figures[k]:.4f}' for k in ('accuracy', 'f1', 'macro_f1', 'loss', 'perplexity')
          if k in figures), figures['count'],
          ''.join(f', {k} {v}' for k, v in extra.items()))
    self.run_log.write(self.step, split, {**figures, **extra})
    return figures

  def _evaluate_test(self) -> dict:
    """The held-out test split, once, at the end, on the checkpoint dev chose (the best kept by
    checkpoint.best_metric): no decision of the run looks at it."""
    self.checkpoints.wait()
    chosen = self.checkpoints.best_step()
    evaluated = self.state
    if chosen is not None and chosen != self.step:
      plain = self.dp.to_checkpoint_layout(self.state)
      item, _ = self.checkpoints.restore(
          chosen, train_state.checkpoint_item(plain, self.dp.replicate_plain(self.base_rng)))
      evaluated = self.dp.put_state(train_state.from_checkpoint_item(plain, item)[0])
    return self._evaluate_and_record('test', self.exp.test_batches, evaluated,
                                     checkpoint_step=self.step if chosen is None else chosen)

  def _save(self, dev_figures: Optional[dict] = None, train_sums: Optional[dict] = None) -> None:
    self.watch.check(self.step)
    self.checkpoints.save(
        self.step, train_state.checkpoint_item(self.dp.to_checkpoint_layout(self.state),
                                               self.dp.replicate_plain(self.base_rng)),
        batch_size=self.config.train.batch_size, dev_figures=dev_figures, train_sums=train_sums)

  def _log_train(self) -> None:
    """The log window's train figures, logged and written to the run log."""
    sums = jax.device_get(self.train_sums)
    figures = self.exp.summarize(sums)
    figures['grad_norm'] = float(sums['grad_norm_sum'] / max(sums['steps'], 1))
    figures['nonfinite_steps'] = self.nonfinite.count(sums)
    figures['learning_rate'] = float(self.schedule(self.step - 1))
    line, figures['steps_per_s'] = self.progress.line(self.step, figures)
    if self.is_main:
      logging.info('%s', line)
    self.watch.check(self.step)
    self.run_log.write(self.step, 'train', figures)


def _draw_plots(workdir: str) -> None:
  """The run's pictures (plot.py); a figure that cannot be drawn is a warning, never a failed run."""
  from textcls_jax import plot  # matplotlib is imported only here.
  try:
    for path in plot.plot_workdir(workdir):
      logging.info('Plot: %s', path)
  except Exception as e:  # pylint: disable=broad-except
    logging.warning('Could not draw the plots of %s: %s', workdir, e)


def _due(step: int, every: int, total_steps: int) -> bool:
  """Whether a periodic action (log, eval, save) falls on `step`: every `every` steps, and last."""
  return step % every == 0 or step == total_steps


class NonFiniteError(failures.UserError, RuntimeError):
  """A step's loss or gradient was NaN or Inf, and config.train.on_nonfinite is 'stop'."""


class NonFiniteGuard:
  """Stops the run at a non-finite step, or counts the skipped ones (train.on_nonfinite)."""

  def __init__(self, checkpoints, is_main: bool):
    self.checkpoints = checkpoints
    self.is_main = is_main
    self.total = 0

  def check(self, step: int, flag) -> None:
    """Raises NonFiniteError if `flag` (the step's nonfinite_steps metric) is set."""
    if np.asarray(jax.device_get(flag)).any():
      self.checkpoints.wait()
      kept = self.checkpoints.latest_step()
      raise NonFiniteError(
          f'step {step}: the loss or a gradient is NaN or Inf; its update was not applied and '
          f'training stopped. The last checkpoint ({"none" if kept is None else f"step {kept}"}) '
          'is kept. Lower optim.learning_rate or check the input, or set '
          'train.on_nonfinite=skip to skip such steps.')

  def count(self, sums) -> float:
    """Adds a log window's skipped steps to the total and warns about them."""
    skipped = int(sums['nonfinite_steps'])
    self.total += skipped
    if skipped and self.is_main:
      logging.warning('%d step(s) with a NaN/Inf loss or gradient skipped (%d in this run)',
                      skipped, self.total)
    return float(skipped)


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
    if parallel.num_processes() == 1:
      return self.signal_name is not None
    if step % every:
      return False
    requested = parallel.any_process(self.signal_name is not None)
    if requested and self.signal_name is None:
      self.signal_name = 'a signal to another process'
    return requested

  def restore(self) -> None:
    for sig, handler in self._previous.items():
      self._signal.signal(sig, handler)
    self._previous = {}


