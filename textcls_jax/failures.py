"""How a command ends when it cannot go on: one line that says what happened and what to do.

The command lines (main, predict, export, reproduce) run their work inside `reported`. A failure a
user can act on ends the command with exit status 1 and one line, `error: ...`, naming the file, key
or checkpoint and the next step:
  - the project's own refusals (a bad config value or input, a checkpoint that fails its checksum or
    cannot be read, a workdir held by another run, ...): errors deriving from `UserError`, whose
    message already says all that;
  - the storage failing under a command, wherever it writes (checkpoints, tokenizer, token caches,
    metrics, plots): a full disk or quota, a read-only file system or missing permission, a workdir
    deleted while the run ran; as an OSError, or in the text of TensorFlow's or TensorStore's
    errors;
  - memory running out.
Anything else is a bug and keeps Python's traceback; `--verbose`, or TEXTCLS_VERBOSE=1 in the
environment, keeps the traceback of the known ones too, for a bug report. The libraries' own logs of
such a failure, from their background threads, are left out (quiet.py) unless --verbose.

Nothing is lost in any of them: a checkpoint is renamed into place only when complete, and the other
files are written whole and then renamed (workdir.atomic_write_*), so a workdir's last complete
checkpoint restores on the next run.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import sys
from typing import Optional

VERBOSE_ENV = 'TEXTCLS_VERBOSE'


class UserError(Exception):
  """A failure whose message tells a user all they need: what happened, to which file or key, and
  what to do. Every error class the project raises for a user derives from it."""


_DISK_FULL, _READ_ONLY, _NO_ACCESS = 'disk full', 'read-only', 'no access'
_GONE, _MEMORY = 'gone', 'memory'
_BY_ERRNO = {errno.ENOSPC: _DISK_FULL, errno.EDQUOT: _DISK_FULL, errno.EFBIG: _DISK_FULL,
             errno.EROFS: _READ_ONLY, errno.EACCES: _NO_ACCESS, errno.EPERM: _NO_ACCESS,
             errno.ENOENT: _GONE, errno.ESTALE: _GONE}
# The same faults as TensorStore's and TensorFlow's error texts state them (their status codes
# are gRPC's); memory first: XLA reports an allocation failure as RESOURCE_EXHAUSTED too.
_BY_TEXT = ((_MEMORY, ('Out of memory', 'out of memory', 'Failed to allocate')),
            (_DISK_FULL, ('No space left on device', 'Disk quota exceeded', 'File too large',
                          'RESOURCE_EXHAUSTED')),
            (_READ_ONLY, ('Read-only file system',)),
            (_NO_ACCESS, ('Permission denied', 'PERMISSION_DENIED')))
# A path in an error's text: quoted (TensorStore's), or after a space up to ';' (TensorFlow's).
_QUOTED_PATH = re.compile(r'''["']((?:/|[a-z0-9]+://)[^"']+)["']|(?:^|\s)((?:/|gs://)[^\s;"']+)''')
_CHECKPOINT_TMP = re.compile(r'^(.*)/(\d+)\.orbax-checkpoint-tmp')


def causes(error: BaseException) -> list[BaseException]:
  """`error`, then what it was raised from or during, outermost first."""
  chain, seen = [], set()
  while error is not None and id(error) not in seen:
    chain.append(error)
    seen.add(id(error))
    error = error.__cause__ or error.__context__
  return chain


def one_line(error: BaseException, workdir: str = '') -> Optional[str]:
  """The line a user is shown for `error` (without 'error: '), or None when it is not one a user
  can act on (a bug: its traceback is shown). `workdir`: the command's, whose last complete
  checkpoint the line names."""
  chain = causes(error)
  for e in chain:
    if isinstance(e, UserError):
      return ' '.join(str(e).split('\n'))
  for e in chain:
    if isinstance(e, MemoryError):
      return _describe(_MEMORY, '', 'MemoryError', workdir)
  # The innermost error that names its file says most; then one whose text does (TensorStore's);
  # then any storage fault at all.
  faults = []
  for e in reversed(chain):
    if isinstance(e, OSError) and e.errno in _BY_ERRNO:
      faults.append((_BY_ERRNO[e.errno], str(e.filename or ''), e.strerror or str(e)))
    text = str(e)
    for fault, phrases in _BY_TEXT:
      said = [p for p in phrases if p in text]
      if said:  # The first phrase is the plainest (TensorStore's texts run to hundreds of chars).
        quoted = _QUOTED_PATH.search(text)
        faults.append((fault, (quoted.group(1) or quoted.group(2)) if quoted else '', said[0]))
        break
  if not faults:
    return None
  fault, path, detail = next((f for f in faults if f[1]), faults[0])
  return _describe(fault, path, detail, workdir)


def _describe(fault: str, path: str, detail: str, workdir: str) -> str:
  checkpoint = _CHECKPOINT_TMP.match(path)
  where = path or (f'a file in {workdir}' if workdir else '')
  what = (f'checkpoint {checkpoint.group(2)} was not written to {checkpoint.group(1)}'
          if checkpoint else f'{where} could not be written' if where else 'the command failed')
  resume = _resume_clause(workdir)
  if fault == _MEMORY:
    return (f'out of memory ({detail}). Lower train.batch_size or data.max_len (or the model\'s '
            f'size), or run where more memory is free{resume}')
  if fault == _DISK_FULL:
    return (f'{what}: no space left on the device ({detail}). Free space, or use a --workdir on '
            f'another disk, and run the same command again{resume}')
  if fault == _READ_ONLY:
    return (f'{what}: {detail}. Make it writable, or use another --workdir, and run the same '
            f'command again{resume}')
  if fault == _NO_ACCESS:
    return (f'{where or "a file"}: permission denied ({detail}). Give the command access to it, or '
            f'use another --workdir, and run the same command again{resume}')
  where = path or workdir or 'a file the command needs'
  if workdir and os.path.abspath(where).startswith(os.path.abspath(workdir)):
    return (f'{where} does not exist ({detail}): was the workdir moved or deleted while the run '
            'ran? Put it back, or start again in a new --workdir')
  return f'{where} does not exist ({detail}): check the path'


def _resume_clause(workdir: str) -> str:
  """'; it resumes from checkpoint N' for a local workdir with a complete checkpoint, else ''."""
  steps = []
  try:
    steps = [int(n) for n in os.listdir(os.path.join(workdir, 'checkpoints')) if n.isdigit()]
  except (OSError, TypeError, ValueError):
    pass
  return f'; it resumes from checkpoint {max(steps)}, the last complete one' if steps else ''


def verbose_requested(flag: bool = False) -> bool:
  """Whether tracebacks are wanted: `--verbose`, or TEXTCLS_VERBOSE set to anything but 0."""
  return flag or os.environ.get(VERBOSE_ENV, '0') not in ('', '0')


@contextlib.contextmanager
def reported(workdir: str = '', verbose: bool = False):
  """Ends the command with `error: <one line>` and exit status 1 on a failure a user can act on
  (one_line); any other exception, and with verbose_requested() every one, propagates with its
  traceback."""
  try:
    yield
  except Exception as e:  # noqa: BLE001 (one_line decides; the rest is re-raised)
    line = one_line(e, workdir)
    if line is None or verbose_requested(verbose):
      raise
    sys.exit(f'error: {line}')
