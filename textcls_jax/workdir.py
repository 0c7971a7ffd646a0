"""The workdir's files, and writing them so that none is ever left half-written."""

from __future__ import annotations

import json
import os
import tempfile

CONFIG = 'config.json'
LABELS = 'labels.json'
TOKENIZER = os.path.join('tokenizer', 'spm.model')
CHECKPOINTS = 'checkpoints'
METRICS = 'metrics.jsonl'
TENSORBOARD = 'tensorboard'


def atomic_write_text(path: str, text: str) -> None:
  """Writes `text` to a temporary file beside `path`, then renames it over `path`."""
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=directory, prefix='.' + os.path.basename(path) + '.')
  try:
    with os.fdopen(fd, 'w', encoding='utf-8') as f:
      f.write(text)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.unlink(tmp)
    raise


def write_json(path: str, obj) -> None:
  atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + '\n')


def read_json(path: str):
  with open(path, encoding='utf-8') as f:
    return json.load(f)


def read_config(workdir: str):
  """The workdir's saved config.json as a dict, or None when the workdir has none."""
  path = os.path.join(workdir, CONFIG)
  return read_json(path) if os.path.exists(path) else None


def check_writable(workdir: str) -> None:
  """Creates `workdir` and proves it writable, with a clear error if it is not."""
  try:
    os.makedirs(workdir, exist_ok=True)
    fd, probe = tempfile.mkstemp(dir=workdir, prefix='.write-test-')
    os.close(fd)
    os.unlink(probe)
  except OSError as e:
    raise PermissionError(f'workdir {workdir} is not writable: {e.strerror}') from None


class MetricsFile:
  """metrics.jsonl: one JSON object a line, {'step': int, 'split': str, ...figures}.

  On resume from step S, rows written after the checkpoint at S (by the run that died) are dropped,
  so the file reads as if the run had never stopped.
  """

  def __init__(self, path: str, resume_step: int):
    self.path = path
    if os.path.exists(path):
      kept = []
      with open(path, encoding='utf-8') as f:
        for line in f:
          try:
            row = json.loads(line)
          except json.JSONDecodeError:
            continue  # A line cut short by a crash.
          if row.get('step', 0) <= resume_step:
            kept.append(line if line.endswith('\n') else line + '\n')
      atomic_write_text(path, ''.join(kept))
    self._f = open(path, 'a', encoding='utf-8')

  def write(self, step: int, split: str, figures: dict) -> None:
    self._f.write(json.dumps({'step': int(step), 'split': split, **figures}) + '\n')
    self._f.flush()

  def close(self) -> None:
    self._f.close()


class WorkdirLock:
  """An exclusive lock on a workdir, held for the life of the process that holds it.

  It is an flock on `WORKDIR/.lock`: the kernel releases it when the process dies, however it dies,
  so a lock left by a killed run never blocks the next one. A second live process is refused.
  """

  def __init__(self, workdir: str):
    self.path = os.path.join(workdir, '.lock')
    self._fd = None

  def acquire(self) -> 'WorkdirLock':
    import fcntl
    import socket
    fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      holder = os.read(fd, 200).decode(errors='replace').strip() or 'another process'
      os.close(fd)
      raise WorkdirBusyError(f'{os.path.dirname(self.path)} is in use by {holder}; wait for it '
                             'to finish or stop it (a lock of a dead process is released by '
                             'itself)') from None
    os.ftruncate(fd, 0)
    os.write(fd, f'pid {os.getpid()} on {socket.gethostname()}\n'.encode())
    self._fd = fd
    return self

  def release(self) -> None:
    if self._fd is not None:
      os.close(self._fd)  # Closing the descriptor drops the flock.
      self._fd = None


class WorkdirBusyError(RuntimeError):
  """A live run already holds the workdir."""
