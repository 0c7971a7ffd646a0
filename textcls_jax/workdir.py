"""The workdir's files, through one filesystem layer, written so that none is ever half-written.

Every workdir path goes through here: a local folder, or a URL such as `gs://bucket/runs/x` that
etils.epath (the layer Orbax uses too) can reach. Local writes go to a temporary file that is then
renamed over the target. An object store has neither renames nor appends, but an object appears
only whole when its upload completes, so there a file is written in one piece instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import uuid
from typing import Iterator

from etils import epath

from textcls_jax import failures

CONFIG = 'config.json'
LABELS = 'labels.json'
TOKENIZER_DIR = 'tokenizer'  # The tokenizer's folder (data/tokenizer.py: save, load).
TOKENIZER = os.path.join(TOKENIZER_DIR, 'spm.model')  # Where a SentencePiece tokenizer is.
CHECKPOINTS = 'checkpoints'
METRICS = 'metrics.jsonl'
TENSORBOARD = 'tensorboard'
CORPUS_CACHE = 'corpus'
WORD_VECTORS = 'word_vectors.npz'  # A word2vec run's output (textcls_jax/word2vec.py).


def is_remote(path) -> bool:
  """True for a URL (gs://..., s3://...): a path that the local filesystem cannot open."""
  return '://' in str(path)


def absolute(path) -> str:
  """A local path made absolute; a URL as it is (os.path.abspath would mangle it)."""
  return str(path) if is_remote(path) else os.path.abspath(path)


def join(*parts) -> str:
  return os.path.join(*(str(p) for p in parts))


def exists(path) -> bool:
  return epath.Path(path).exists()


def read_bytes(path) -> bytes:
  return epath.Path(path).read_bytes()


def read_text(path) -> str:
  return epath.Path(path).read_text(encoding='utf-8')


def read_json(path):
  return json.loads(read_text(path))


def atomic_write_bytes(path, data: bytes) -> None:
  """Writes `data` to `path` so that a reader sees the old file or the new one, never a part."""
  if is_remote(path):
    epath.Path(path).write_bytes(data)  # The object appears when the upload completes.
    return
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=directory, prefix='.' + os.path.basename(path) + '.')
  try:
    with os.fdopen(fd, 'wb') as f:
      f.write(data)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException as e:
    if os.path.exists(tmp):
      os.unlink(tmp)
    if isinstance(e, OSError) and e.filename is None:  # A failed write names no file: this one.
      raise OSError(e.errno, e.strerror, str(path)) from e
    raise


def atomic_write_text(path, text: str) -> None:
  atomic_write_bytes(path, text.encode('utf-8'))


def write_json(path, obj) -> None:
  atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + '\n')


def copy_file(source, target) -> None:
  """Copies a file between any two filesystems, atomically at the target."""
  atomic_write_bytes(target, read_bytes(source))


def files_under(folder) -> Iterator[epath.Path]:
  """Every file below `folder`, on any filesystem (rglob is not implemented for gs://)."""
  pending = [epath.Path(folder)]
  while pending:
    for child in pending.pop().iterdir():
      if child.is_dir():
        pending.append(child)
      else:
        yield child


def move_tree(source, target) -> None:
  """Moves a folder. Locally one rename; on an object store each file is copied, then the source
  removed (there is no rename there), so a reader may briefly see both."""
  if not is_remote(source) and not is_remote(target):
    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    os.rename(source, target)
    return
  source, target = epath.Path(source), epath.Path(target)
  for path in files_under(source):
    path.copy(target / path.relative_to(source))
  source.rmtree()


def read_config(workdir):
  """The workdir's saved config.json as a dict, or None when the workdir has none: how every
  reader (a resumed run, init_from, predict) reads it back."""
  path = join(workdir, CONFIG)
  return read_json(path) if exists(path) else None


def write_config(workdir, config) -> None:
  """Saves a run's config (a ConfigDict) as the workdir's config.json."""
  write_json(join(workdir, CONFIG), config.to_dict())


def check_writable(workdir) -> None:
  """Creates `workdir` and proves it writable, with a clear error if it is not."""
  probe = epath.Path(join(workdir, f'.write-test-{uuid.uuid4().hex}'))
  try:
    if not is_remote(workdir):
      os.makedirs(workdir, exist_ok=True)
    probe.write_bytes(b'')
    probe.unlink()
  except OSError as e:
    raise WorkdirNotWritableError(
        f'workdir {workdir} is not writable: {e.strerror or e}. Make it writable, or use another '
        '--workdir') from None


class WorkdirNotWritableError(failures.UserError, PermissionError):
  """A workdir that cannot be created or written."""


def read_metrics(workdir) -> list[dict]:
  """WORKDIR/metrics.jsonl's rows, in order ({'step', 'split', ...figures}); a line cut short by a
  crash is skipped. FileNotFoundError when there is none."""
  path = join(workdir, METRICS)
  if not exists(path):
    raise FileNotFoundError(f'{path}: no metrics yet (is {workdir} a textcls-jax workdir?)')
  rows = []
  for line in read_text(path).splitlines():
    try:
      rows.append(json.loads(line))
    except json.JSONDecodeError:
      continue
  return rows


class MetricsFile:
  """metrics.jsonl: one JSON object a line, {'step': int, 'split': str, ...figures}.

  On resume from step S, rows written after the checkpoint at S (by the run that died) are dropped,
  so the file reads as if the run had never stopped. Locally rows are appended; an object store
  cannot append, so there the whole file is written again with each row.
  """

  def __init__(self, path, resume_step: int):
    self.path = str(path)
    kept = []
    if exists(self.path):
      for line in read_text(self.path).splitlines():
        try:
          row = json.loads(line)
        except json.JSONDecodeError:
          continue  # A line cut short by a crash.
        if row.get('step', 0) <= resume_step:
          kept.append(line + '\n')
      atomic_write_text(self.path, ''.join(kept))
    self._remote = is_remote(self.path)
    self._lines = kept if self._remote else None
    self._f = None if self._remote else open(self.path, 'a', encoding='utf-8')

  def write(self, step: int, split: str, figures: dict) -> None:
    line = json.dumps({'step': int(step), 'split': split, **figures}) + '\n'
    if self._remote:
      self._lines.append(line)
      atomic_write_text(self.path, ''.join(self._lines))
    else:
      try:
        self._f.write(line)
        self._f.flush()
      except OSError as e:  # A failed write names no file: this one.
        raise OSError(e.errno, e.strerror, str(self.path)) from e

  def close(self) -> None:
    if self._f:
      self._f.close()


class MirroredDir:
  """A local folder for writers that need one (TensorBoard's), copied to `target` on sync().

  For a local target it is the target itself and sync() does nothing. For a URL it is a temporary
  folder, and sync() uploads each file that grew since the last sync (event files only grow).
  """

  def __init__(self, target):
    self.target = str(target)
    self.local = tempfile.mkdtemp(prefix='textcls-mirror-') if is_remote(target) else self.target
    self._sizes = {}

  @property
  def mirrored(self) -> bool:
    return self.local != self.target

  def sync(self) -> None:
    if not self.mirrored:
      return
    for root, _, files in os.walk(self.local):
      for name in files:
        path = os.path.join(root, name)
        size = os.path.getsize(path)
        if self._sizes.get(path) != size:
          copy_file(path, join(self.target, os.path.relpath(path, self.local)))
          self._sizes[path] = size

  def close(self) -> None:
    self.sync()
    if self.mirrored:
      shutil.rmtree(self.local, ignore_errors=True)


class WorkdirLock:
  """An exclusive lock on a workdir, held for the life of the process that holds it.

  Locally it is an flock on `WORKDIR/.lock`: the kernel releases it when the process dies, however
  it dies, so a lock left by a killed run never blocks the next one, and a second live process is
  refused. An object store has no locks: for a URL workdir the flock is on a file of this machine's
  temporary folder named after the URL, so it refuses a second run on the same machine only; two
  machines must not be started on one URL workdir.
  """

  def __init__(self, workdir):
    self.workdir = str(workdir)
    if is_remote(workdir):
      key = hashlib.sha256(self.workdir.encode()).hexdigest()[:16]
      folder = os.path.join(tempfile.gettempdir(), 'textcls-jax-locks')
      os.makedirs(folder, exist_ok=True)
      self.path = os.path.join(folder, f'{key}.lock')
    else:
      self.path = os.path.join(self.workdir, '.lock')
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
      raise WorkdirBusyError(f'{self.workdir} is in use by {holder}; wait for it to finish or '
                             'stop it (a lock of a dead process is released by itself)') from None
    os.ftruncate(fd, 0)
    os.write(fd, f'pid {os.getpid()} on {socket.gethostname()}\n'.encode())
    self._fd = fd
    return self

  def release(self) -> None:
    if self._fd is not None:
      os.close(self._fd)  # Closing the descriptor drops the flock.
      self._fd = None


class WorkdirBusyError(failures.UserError, RuntimeError):
  """A live run already holds the workdir."""


class WorkdirVanishedError(failures.UserError, FileNotFoundError):
  """The workdir a run writes was deleted or moved while it ran."""


class WorkdirWatch:
  """Notices a local workdir deleted or moved under a running run, which would otherwise go on
  writing into folders that Orbax recreates, and into a metrics file nobody can open any more.
  A URL workdir is not watched (an object store has no folders to lose)."""

  def __init__(self, workdir):
    self.workdir = str(workdir)
    self._identity = None if is_remote(self.workdir) else self._stat()

  def _stat(self):
    try:
      st = os.stat(self.workdir)
    except FileNotFoundError:
      return None
    return st.st_dev, st.st_ino

  def check(self, step: int) -> None:
    """WorkdirVanishedError if the workdir is not the folder the run started in."""
    if self._identity is not None and self._stat() != self._identity:
      raise WorkdirVanishedError(
          f'workdir {self.workdir} was deleted or moved while the run ran (noticed at step '
          f'{step}), so the run stopped. Put it back and run the same command to resume from its '
          'last complete checkpoint, or start again in a new --workdir')

