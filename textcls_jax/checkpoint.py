"""The only module that talks to Orbax: save, keep, find and restore checkpoints.

A checkpoint holds two items: `state` (params, optimizer state, step, RNG key; array tree) and `meta`
(JSON: the data position, the dev metrics at that step, an unfinished log window's train sums, the
state's checksum; this module alone spells its keys: `save` writes them, the `meta_*` functions and
`check_data_position` read them). The manager keeps the last N and the best by a dev metric; saves
are asynchronous and `close()` waits for them. Orbax writes each step into a temporary folder and
renames it when complete, so a save killed half-way is never listed as a step.

A restore tells three failures apart, because only one of them may ever move a checkpoint:
  CheckpointCorruptError     a verified fault of the checkpoint's own content: its arrays do not
                             match the checksum saved in `meta`, a file is missing or truncated, or
                             its metadata cannot be parsed. `restore_latest` may set it aside.
  CheckpointMismatchError    an intact checkpoint that does not fit the state this run builds (other
                             shapes or parameters: another config or another version). Never moved.
  CheckpointUnreadableError  storage that cannot be read for a reason that is not the content
                             (permissions, I/O errors, an unreachable bucket, anything unrecognised).
                             Never moved.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any, Optional

import jax
import numpy as np
import orbax.checkpoint as ocp
from absl import logging
from etils import epath
from orbax.checkpoint.checkpoint_managers import preservation_policy as pp

from textcls_jax import failures
from textcls_jax import parallel
from textcls_jax import workdir as wd


CORRUPT_DIR = 'checkpoints_corrupt'  # Beside the checkpoints folder: bad steps are moved here.


class CheckpointError(failures.UserError, RuntimeError):
  """A checkpoint that cannot be restored; the message names it and the reason."""


class CheckpointCorruptError(CheckpointError):
  """A verified fault in a checkpoint's content (checksum, missing or truncated files, metadata)."""


class CheckpointMismatchError(CheckpointError):
  """An intact checkpoint whose arrays do not fit the state this run builds."""


class CheckpointUnreadableError(CheckpointError):
  """A checkpoint that cannot be read for a reason other than its content (permissions, I/O)."""


# Status codes (TensorStore's, which are gRPC's) in a read error. These say the storage could not
# be reached or read: the checkpoint may be fine.
_ENVIRONMENT_CODES = ('PERMISSION_DENIED', 'UNAUTHENTICATED', 'UNAVAILABLE', 'DEADLINE_EXCEEDED',
                      'RESOURCE_EXHAUSTED', 'CANCELLED', 'ABORTED')
# These say what is stored is wrong: a file missing, shorter than its index says, or undecodable.
_CONTENT_CODES = ('NOT_FOUND', 'DATA_LOSS', 'OUT_OF_RANGE', 'FAILED_PRECONDITION',
                  'INVALID_ARGUMENT')


def read_fault(error: Exception, where: str) -> CheckpointError:
  """The CheckpointError that a read failure of the checkpoint at `where` amounts to.

  Only a recognised content fault is CheckpointCorruptError; an environment fault, or anything not
  recognised, is CheckpointUnreadableError, so that a checkpoint is never set aside on a guess.
  """
  chain = failures.causes(error)
  root = chain[-1]  # The innermost error says most (TensorStore's status and file).
  detail = f'{type(root).__name__}: {_first_line(root)}'
  for e in chain:
    if isinstance(e, (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError)):
      return CheckpointCorruptError(f'{where} cannot be read: {detail}')
    if isinstance(e, OSError) or any(code in str(e) for code in _ENVIRONMENT_CODES):
      return CheckpointUnreadableError(
          f'{where} cannot be read, for a reason that is not its content ({detail}); it was not '
          'moved. Fix the access (permissions, storage) and run again')
  for e in chain:
    if (any(f'{code}:' in str(e) for code in _CONTENT_CODES) or
        isinstance(e, KeyError) and 'was not found in the checkpoint' in str(e)):
      return CheckpointCorruptError(f'{where} cannot be read: {detail}')
  return CheckpointUnreadableError(f'{where} cannot be read ({detail}); it was not moved, since '
                                   'this is not a recognised checkpoint fault')


def tree_digest(tree: Any) -> str:
  """A checksum of a tree of arrays: leaf paths, dtypes, shapes and bytes, in tree order.

  Replicated global arrays are read from this process's first copy, so every process (and every
  device layout that restores the same values) computes the same digest.
  """
  h = hashlib.blake2b(digest_size=16)
  for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
    if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable:
      leaf = leaf.addressable_data(0)
    value = np.ascontiguousarray(jax.device_get(leaf))
    h.update(f'{jax.tree_util.keystr(path)}:{value.dtype}:{value.shape};'.encode())
    h.update(value.tobytes())
  return h.hexdigest()


class Checkpointer:

  def __init__(self, directory: str, *, max_to_keep: int = 2, best_metric: str = '',
               best_mode: str = 'max', async_save: bool = True, read_only: bool = False):
    """read_only: for readers beside a run (predict, init_from), which must neither delete nor
    write anything, in particular not the unfinished save a running training is writing."""
    if best_mode not in ('max', 'min'):
      raise ValueError(f"checkpoint.best_mode must be 'max' or 'min', got {best_mode!r}")
    self.best_metric = best_metric
    self.best_mode = best_mode
    policies = [pp.LatestN(max_to_keep)]
    if best_metric:
      sign = 1.0 if best_mode == 'max' else -1.0
      # BestN sorts ascending and keeps the tail: the highest signed value.
      policies.append(pp.BestN(get_metric_fn=lambda m: sign * m[best_metric], n=1,
                               keep_checkpoints_without_metrics=False))
    options = ocp.CheckpointManagerOptions(
        preservation_policy=pp.AnyPreservationPolicy(policies),
        enable_async_checkpointing=async_save, cleanup_tmp_directories=not read_only,
        create=not read_only)  # (Orbax's own read_only option warns three times on each open.)
    self.directory = wd.absolute(directory)
    self._manager = ocp.CheckpointManager(self.directory, options=options)

  def latest_step(self) -> Optional[int]:
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return list(self._manager.all_steps())

  def save(self, step: int, state_tree: Any, *, batch_size: int,
           dev_figures: Optional[dict] = None, train_sums: Optional[dict] = None) -> None:
    """Starts an asynchronous save; errors of the previous save surface here or in close().

    batch_size: the global train batch, which places the data stream (step x batch_size examples
    read). dev_figures: the dev evaluation at this step, if one ran (what best_metric ranks).
    train_sums: an unfinished log window's train metric sums, as JSON (a stop between two log
    steps saves them, so that the resumed run's next train row covers the same steps).
    """
    meta = {'step': step, 'data_position': _data_position(step, batch_size),
            'metrics': dev_figures or {}}
    if train_sums is not None:
      meta['train_sums'] = train_sums
    meta['digest'] = tree_digest(state_tree)
    self._manager.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state_tree),
                                                     meta=ocp.args.JsonSave(meta)),
                       metrics=dev_figures, force=True)

  def read_meta(self, step: int) -> dict:
    return self._manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore())).meta

  def best_step(self) -> Optional[int]:
    """The kept step with the best `best_metric` in its meta, or the latest if none has one."""
    scored = []
    for step in self.all_steps():
      value = meta_dev_figures(self.read_meta(step)).get(self.best_metric)
      if value is not None:
        scored.append((value if self.best_mode == 'max' else -value, step))
    return max(scored)[1] if scored else self.latest_step()

  def restore(self, step: int, target_tree: Any) -> tuple[Any, dict]:
    """Restores step onto the shapes, dtypes and shardings of `target_tree` (arrays or abstract).

    Giving the target is what lets a checkpoint from N devices restore onto M devices; leaves with
    no sharding of their own are restored replicated over all of this process's devices. Raises
    CheckpointMismatchError when the stored arrays do not fit the target, CheckpointCorruptError
    when the content is faulty, CheckpointUnreadableError when the storage cannot be read.
    """
    replicated = parallel.replicated_on_all_devices()
    def abstract_leaf(x):
      # Leaves without a sharding (e.g. from jax.eval_shape) restore replicated on this run's
      # devices, whatever topology wrote them.
      sharding = getattr(x, 'sharding', None) or replicated
      return jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding)
    abstract = jax.tree.map(abstract_leaf, target_tree)
    where = f'{self.directory}/{step}'
    # The stored tree's metadata first: an intact checkpoint of another shape is a mismatch, to be
    # reported as such, never mistaken for damage.
    try:
      _open_every_file(epath.Path(where))
      stored = ocp.StandardCheckpointHandler().metadata(epath.Path(where) / 'state')
    except Exception as e:  # Orbax, TensorStore and JSON raise many types for unreadable files.
      raise read_fault(e, where) from e
    misfits = _misfits(stored, abstract)
    if misfits:
      raise CheckpointMismatchError(
          f'{where} does not fit the state this config builds ({"; ".join(misfits[:4])}'
          f'{"; ..." if len(misfits) > 4 else ""}): it was written with another model or '
          'optimizer config. Nothing was moved; run it with the config it was made with, or use a '
          'new --workdir')
    try:
      restored = self._manager.restore(step, args=ocp.args.Composite(
          state=ocp.args.StandardRestore(abstract), meta=ocp.args.JsonRestore()))
    except Exception as e:
      raise read_fault(e, where) from e
    meta = restored.meta
    if not isinstance(meta, dict):
      raise CheckpointCorruptError(f'{where}: its meta item is not a JSON object')
    expected = meta.get('digest')
    if expected is None:
      logging.warning('%s has no checksum (written by an older version); not verified', where)
    elif tree_digest(restored.state) != expected:
      raise CheckpointCorruptError(f'{where}: the arrays do not match the checksum saved with them')
    logging.info('Restored checkpoint step %d from %s', step, self.directory)
    return restored.state, meta

  def restore_latest(self, target_tree: Any, on_corrupt: str = 'fallback'
                     ) -> Optional[tuple[int, Any, dict]]:
    """(step, tree, meta) of the newest step that restores intact, or None when there is none.

    Steps are tried newest first. A corrupt step (CheckpointCorruptError) is skipped with a warning
    under on_corrupt='fallback' and raised under 'error'. Corrupt steps are moved to CORRUPT_DIR
    beside the checkpoints only once an older intact step has been restored, so a workdir is never
    emptied of checkpoints. A mismatched or unreadable step stops the search: its error is raised
    and nothing is moved. With no intact step at all, the error names each step and nothing is
    moved; a workdir whose checkpoints were all set aside earlier is refused too, rather than
    started again from scratch.
    """
    corrupt = []
    for step in sorted(self.all_steps(), reverse=True):
      try:
        tree, meta = self.restore(step, target_tree)
      except CheckpointCorruptError as e:
        if on_corrupt == 'error':
          raise CheckpointCorruptError(
              f'{e}. Set checkpoint.on_corrupt=fallback to resume from an older checkpoint, or '
              'move this one away') from e
        corrupt.append((step, str(e)))
        logging.warning('%s; trying the previous checkpoint', e)
        continue
      for bad, _ in corrupt:
        logging.warning('Moved corrupt checkpoint %s/%d to %s', self.directory, bad,
                        self._quarantine(bad))
      if corrupt:
        logging.warning('Resuming from step %d instead: %d newer checkpoint(s) were corrupt', step,
                        len(corrupt))
      return step, tree, meta
    if corrupt:
      raise CheckpointCorruptError('no checkpoint could be restored, so none was moved: '
                                   + '; '.join(error for _, error in corrupt))
    aside = self.corrupt_dir
    if aside.exists() and any(aside.iterdir()):
      raise CheckpointCorruptError(
          f'{self.directory} holds no checkpoint, but {aside} holds checkpoints set aside as '
          'corrupt: this workdir has trained before, so it is not started again from scratch. '
          'Move one back, or move that folder away to start over')
    return None

  @property
  def corrupt_dir(self) -> epath.Path:
    return epath.Path(self.directory).parent / CORRUPT_DIR

  def _quarantine(self, step: int) -> str:
    """Moves a bad step out of the manager's folder (kept for inspection) and rescans it."""
    self._manager.wait_until_finished()
    target = self.corrupt_dir / f'{step}-{time.strftime("%Y%m%d-%H%M%S")}'
    if parallel.is_main_process():  # Every process found it bad; one moves it.
      source = epath.Path(self.directory) / str(step)
      try:
        wd.move_tree(source, target)
      except OSError as e:  # A read-only filesystem, a full disk, missing permission.
        raise CheckpointError(
            f'{source} is corrupt, and setting it aside in {target.parent} failed '
            f'({type(e).__name__}: {e.strerror or e}); nothing was changed. Make the workdir '
            f'writable, or move {source} away yourself, and run again') from e
    parallel.barrier(f'quarantined checkpoint {step}')
    self._manager.reload()
    return target

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()


def _data_position(step: int, batch_size: int) -> int:
  """The examples a run has read after `step` steps of `batch_size`: the data stream's place."""
  return step * batch_size


def check_data_position(meta: dict, step: int, batch_size: int, where: str) -> int:
  """The data position in a checkpoint's meta, once it is known to match `step` steps of
  `batch_size` (else CheckpointMismatchError: the batch size was changed)."""
  position = meta['data_position']
  if position != _data_position(step, batch_size):
    raise CheckpointMismatchError(
        f'{where}: data position {position} does not match step {step} x batch {batch_size}; '
        'was train.batch_size changed?')
  return position


def meta_dev_figures(meta: dict) -> dict:
  """The dev figures saved with a checkpoint ({} when that step was not evaluated)."""
  return meta.get('metrics') or {}


def meta_train_sums(meta: dict) -> Optional[dict]:
  """The unfinished log window's train sums (JSON) saved with a checkpoint, or None."""
  return meta.get('train_sums')


def _open_every_file(folder: epath.Path) -> None:
  """Opens each file of a checkpoint and reads a byte: a file that cannot be opened (permissions,
  I/O) then fails here, plainly, rather than inside Orbax's concurrent reads, whose abandoned
  callbacks print tracebacks at exit."""
  for path in wd.files_under(folder):
    with path.open('rb') as f:
      f.read(1)


def _orbax_name(path) -> str:
  """A tree path as Orbax names the leaf in its metadata ('state.opt_state.0.mu.w')."""
  parts = []
  for key in path:
    for attr in ('key', 'idx', 'name'):  # DictKey, SequenceKey, GetAttrKey.
      if hasattr(key, attr):
        parts.append(str(getattr(key, attr)))
        break
  return '.'.join(parts)


def _misfits(stored_metadata, abstract) -> list[str]:
  """How the stored tree (Orbax metadata) differs from the target: names, shapes, dtypes."""
  stored = {leaf.name: (tuple(leaf.shape), np.dtype(leaf.dtype))
            for leaf in jax.tree.leaves(getattr(stored_metadata, 'tree', stored_metadata))
            if hasattr(leaf, 'shape') and hasattr(leaf, 'name')}
  wanted = {_orbax_name(path): (tuple(x.shape), np.dtype(x.dtype))
            for path, x in jax.tree_util.tree_leaves_with_path(abstract)}
  out = []
  for name in sorted(set(stored) | set(wanted)):
    if name not in wanted:
      out.append(f'{name} is stored but this config has no such array')
    elif name not in stored:
      out.append(f'{name} is not in the checkpoint')
    elif stored[name] != wanted[name]:
      (s_shape, s_dtype), (w_shape, w_dtype) = stored[name], wanted[name]
      out.append(f'{name}: stored {s_dtype}{list(s_shape)}, here {w_dtype}{list(w_shape)}')
  return out


def _first_line(error: Exception) -> str:
  lines = str(error).strip().splitlines()
  return lines[0][:300] if lines else ''
