"""Where a run's figures go: TensorBoard events, metrics.jsonl, and the console progress line."""

from __future__ import annotations

import time

from textcls_jax import workdir as wd
from textcls_jax.tasks import CONFUSION_PREFIX


class RunLog:
  """Writes each (step, split, figures) row to TensorBoard and, on the main process, to
  metrics.jsonl (rows past `resume_step`, left by a run that died, are dropped first).

  TensorFlow's event writer reaches gs:// through its own filesystem only; a URL workdir gets its
  events written locally and copied over at each row.
  """

  def __init__(self, workdir: str, resume_step: int, is_main: bool):
    from clu import metric_writers
    self._events = wd.MirroredDir(wd.join(workdir, wd.TENSORBOARD))
    self._writer = metric_writers.create_default_writer(self._events.local,
                                                        just_logging=not is_main,
                                                        asynchronous=True)
    self._file = (wd.MetricsFile(wd.join(workdir, wd.METRICS), resume_step=resume_step)
                  if is_main else None)

  def write(self, step: int, split: str, figures: dict) -> None:
    # The confusion matrix's cells go to metrics.jsonl (plot.py draws them), not to TensorBoard's
    # scalars, where C^2 curves would bury the rest.
    self._writer.write_scalars(step, {f'{split}/{k}': v for k, v in figures.items()
                                      if not k.startswith(CONFUSION_PREFIX)})
    if self._events.mirrored:
      self._writer.flush()
      self._events.sync()
    if self._file:
      self._file.write(step, split, figures)

  def close(self) -> None:
    self._writer.flush()
    self._writer.close()
    self._events.close()
    if self._file:
      self._file.close()


def format_duration(seconds: float) -> str:
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
    eta = format_duration((self.total - step) / max(rate, 1e-9))
    return (f'step {step}/{self.total} | loss {figures["loss"]:.4f} | acc {figures["accuracy"]:.4f}'
            f' | {rate:.2f} steps/s, {rate * self.batch_size:.0f} ex/s | ETA {eta}'), rate
