"""The only module that talks to Orbax: save, keep, find and restore checkpoints.

A checkpoint holds two items: `state` (params, optimizer state, step, RNG key; array tree) and `meta`
(JSON: the data position and the dev metrics at that step). The manager keeps the last N and the best
by a dev metric; saves are asynchronous and `close()` waits for them. Orbax writes each step into a
temporary folder and renames it when complete, so a save killed half-way is never listed as a step.

A complete step can still be damaged later (a truncated copy, a bad disk): `meta` holds a checksum
of the state, and a restore whose arrays do not match it, or that cannot be read, raises
CheckpointCorruptError rather than returning garbage. `restore_latest` then falls back to the newest
good step (moving the bad one aside) or stops, as configured.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from typing import Any, Optional

import jax
import numpy as np
import orbax.checkpoint as ocp
from absl import logging
from orbax.checkpoint.checkpoint_managers import preservation_policy as pp


CORRUPT_DIR = 'checkpoints_corrupt'  # Beside the checkpoints folder: bad steps are moved here.


class CheckpointCorruptError(RuntimeError):
  """A checkpoint that cannot be read or does not match its checksum."""


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
               best_mode: str = 'max', async_save: bool = True):
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
        enable_async_checkpointing=async_save, cleanup_tmp_directories=True)
    self.directory = os.path.abspath(directory)
    self._manager = ocp.CheckpointManager(self.directory, options=options)

  def latest_step(self) -> Optional[int]:
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return list(self._manager.all_steps())

  def save(self, step: int, state_tree: Any, meta: dict, metrics: Optional[dict] = None) -> None:
    """Starts an asynchronous save; errors of the previous save surface here or in close().

    The state's checksum is added to `meta` (key 'digest') before the save starts.
    """
    meta = dict(meta, digest=tree_digest(state_tree))
    self._manager.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state_tree),
                                                     meta=ocp.args.JsonSave(meta)),
                       metrics=metrics, force=True)

  def read_meta(self, step: int) -> dict:
    return self._manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore())).meta

  def best_step(self) -> Optional[int]:
    """The kept step with the best `best_metric` in its meta, or the latest if none has one."""
    scored = []
    for step in self.all_steps():
      value = self.read_meta(step).get('metrics', {}).get(self.best_metric)
      if value is not None:
        scored.append((value if self.best_mode == 'max' else -value, step))
    return max(scored)[1] if scored else self.latest_step()

  def restore(self, step: int, target_tree: Any) -> tuple[Any, dict]:
    """Restores step onto the shapes, dtypes and shardings of `target_tree` (arrays or abstract).

    Giving the target is what lets a checkpoint from N devices restore onto M devices; leaves with
    no sharding of their own are restored replicated over all of this process's devices. Raises
    CheckpointCorruptError when the step cannot be read or its arrays fail the saved checksum.
    """
    replicated = jax.sharding.NamedSharding(jax.sharding.Mesh(jax.devices(), ('data',)),
                                            jax.sharding.PartitionSpec())
    def abstract_leaf(x):
      # Leaves without a sharding (e.g. from jax.eval_shape) restore replicated on this run's
      # devices, whatever topology wrote them.
      sharding = getattr(x, 'sharding', None) or replicated
      return jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding)
    abstract = jax.tree.map(abstract_leaf, target_tree)
    where = os.path.join(self.directory, str(step))
    try:
      restored = self._manager.restore(step, args=ocp.args.Composite(
          state=ocp.args.StandardRestore(abstract), meta=ocp.args.JsonRestore()))
    except Exception as e:  # Orbax, TensorStore and JSON raise many types for unreadable files.
      raise CheckpointCorruptError(f'{where} cannot be read: {type(e).__name__}: '
                                   f'{_first_line(e)}') from e
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

    A step that fails (CheckpointCorruptError) is, with on_corrupt='fallback', moved to
    CORRUPT_DIR beside the checkpoints with a warning and the next older step is tried; with
    'error' the error is raised. When every step fails, the error names each of them.
    """
    failures = []
    for step in sorted(self.all_steps(), reverse=True):
      try:
        tree, meta = self.restore(step, target_tree)
      except CheckpointCorruptError as e:
        if on_corrupt == 'error':
          raise CheckpointCorruptError(
              f'{e}. Set checkpoint.on_corrupt=fallback to resume from an older checkpoint, or '
              'move this one away') from e
        failures.append(str(e))
        logging.warning('%s; moving it to %s and trying the previous checkpoint', e,
                        self._quarantine(step))
        continue
      if failures:
        logging.warning('Resuming from step %d instead: %d newer checkpoint(s) were corrupt', step,
                        len(failures))
      return step, tree, meta
    if failures:
      raise CheckpointCorruptError('no checkpoint could be restored: ' + '; '.join(failures))
    return None

  def _quarantine(self, step: int) -> str:
    """Moves a bad step out of the manager's folder (kept for inspection) and rescans it."""
    self._manager.wait_until_finished()
    target = os.path.join(os.path.dirname(self.directory), CORRUPT_DIR,
                          f'{step}-{time.strftime("%Y%m%d-%H%M%S")}')
    if jax.process_index() == 0:  # Every process found it bad; one moves it.
      os.makedirs(os.path.dirname(target), exist_ok=True)
      shutil.move(os.path.join(self.directory, str(step)), target)
    if jax.process_count() > 1:
      from jax.experimental import multihost_utils
      multihost_utils.sync_global_devices(f'quarantined checkpoint {step}')
    self._manager.reload()
    return target

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()


def _first_line(error: Exception) -> str:
  lines = str(error).strip().splitlines()
  return lines[0][:300] if lines else ''
