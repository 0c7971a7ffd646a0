"""What the command lines print besides their own lines: the libraries' chatter off by default.

TensorFlow prints CUDA probing ("Could not find cuda drivers") and CPU-feature notices from C++ as
it loads, before its logging can be configured, and Orbax logs dozens of INFO lines per checkpoint.
A user needs none of that; warnings and errors still pass, and `--verbose` (predict) or
TF_CPP_MIN_LOG_LEVEL=0 brings it all back.
"""

from __future__ import annotations

import contextlib
import logging as pylogging
import os
import sys
import threading


def quiet_native_logs(verbose: bool = False, errors: bool = True) -> None:
  """TensorFlow's and XLA's C++ logging at ERROR and above, or with errors=False only FATAL (set
  by the user: theirs wins). Call before TensorFlow or JAX is imported. Some machines print
  harmless ERROR lines from C++ (a failed CUDA probe where CUDA is installed without a GPU, oneDNN
  CPU-feature notices), which a command whose output is its product leaves out."""
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '0' if verbose else '2' if errors else '3')


@contextlib.contextmanager
def native_stderr_silenced(enabled: bool = True):
  """File descriptor 2 to /dev/null inside the block: for what C++ prints while a library loads.
  A Python exception raised inside still reaches the user, after the block."""
  if not enabled:
    yield
    return
  sys.stderr.flush()
  saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
  os.dup2(devnull, 2)
  try:
    yield
  finally:
    os.dup2(saved, 2)
    os.close(saved)
    os.close(devnull)


def import_tensorflow(verbose: bool = False):
  """Imports TensorFlow (and tensorflow-text) without their load-time C++ lines; returns tf."""
  with native_stderr_silenced(not verbose):
    import tensorflow as tf
    import tensorflow_text  # noqa: F401 (SentencePiece ops; it loads TensorFlow's libraries again.)
    # The input pipeline must not take accelerator memory; hiding the GPUs also makes TensorFlow
    # probe CUDA (an error line on a machine without one), so here, silenced.
    tf.config.set_visible_devices([], 'GPU')
  return tf


class _LibraryInfoFilter(pylogging.Filter):
  """Drops INFO lines from Orbax and friends (dozens per checkpoint, gensim's one a second);
  warnings still pass."""
  _NOISY = ('/orbax/', '/jax/_src/xla_bridge', '/clu/metric_writers/logging_writer', '/gensim/')

  def filter(self, record):
    return record.levelno >= pylogging.WARNING or not any(n in record.pathname for n in self._NOISY)


_BACKGROUND_LOGGER = 'textcls_jax.background'  # Where the hooks below log what they catch.


class _BackgroundErrorFilter(pylogging.Filter):
  """Drops the errors that libraries' background threads log with their tracebacks (Orbax's save
  threads, asyncio's tasks, clu's TensorBoard writer): each such failure also reaches the command,
  which reports it once, in one line (failures.py)."""
  _BACKGROUND = ('/orbax/', '/asyncio/', '/clu/', '/tensorstore/')

  def filter(self, record):
    return record.levelno < pylogging.ERROR or not (
        record.name == _BACKGROUND_LOGGER or any(n in record.pathname for n in self._BACKGROUND))


def _background_excepthook(hook):
  """sys.excepthook, less the exceptions of threads other than the main one: a library's callback
  failing after the failure that stops the command (asyncio's "Event loop is closed" once an
  Orbax save has failed) goes to the log, where _BackgroundErrorFilter drops it."""
  def excepthook(kind, value, tb):
    if threading.current_thread() is threading.main_thread():
      hook(kind, value, tb)
    else:
      pylogging.getLogger(_BACKGROUND_LOGGER).error('In a background thread',
                                                    exc_info=(kind, value, tb))
  return excepthook


def _unraisable_to_log(unraisable) -> None:
  """sys.unraisablehook: an exception nothing can catch (a library callback run after its event
  loop closed, as TensorStore's are once an Orbax save has failed) goes to the log, where
  _BackgroundErrorFilter drops it."""
  pylogging.getLogger(_BACKGROUND_LOGGER).error(
      'Unraisable: %s', unraisable.err_msg or 'exception ignored',
      exc_info=(unraisable.exc_type, unraisable.exc_value, unraisable.exc_traceback))


def quiet_library_logs() -> None:
  """The INFO lines of Orbax, JAX's backend search, clu's writer and gensim off on every log
  handler, and the errors their background threads log (what --verbose shows)."""
  from absl import logging
  for handler in pylogging.getLogger().handlers + [logging.get_absl_handler()]:
    handler.addFilter(_LibraryInfoFilter())
    handler.addFilter(_BackgroundErrorFilter())
  sys.excepthook = _background_excepthook(sys.excepthook)
  sys.unraisablehook = _unraisable_to_log


def setup_logging(verbose: bool = False):
  """The logging of a training or a notebook: TensorFlow imported without its load-time C++ lines,
  absl at INFO (the progress and dev lines), the libraries' INFO lines off. Returns tf."""
  from absl import flags
  from absl import logging
  if not flags.FLAGS.is_parsed():  # A notebook: no flags, and no "before flag parsing" notice.
    flags.FLAGS.mark_as_parsed()
  quiet_native_logs(verbose)
  tf = import_tensorflow(verbose)
  logging.use_absl_handler()  # app.run does this; a notebook has none until the first line.
  logging.set_verbosity(logging.INFO)
  if not verbose:
    quiet_library_logs()
  return tf
