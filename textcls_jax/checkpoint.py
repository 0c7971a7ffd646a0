"""The only module that talks to Orbax: save, keep, find and restore checkpoints.

A checkpoint holds two items: `state` (params, optimizer state, step, RNG key; array tree) and `meta`
(JSON: the data position and the dev metrics at that step). The manager keeps the last N and the best
by a dev metric; saves are asynchronous and `close()` waits for them. Orbax writes each step into a
temporary folder and renames it when complete, so a save killed half-way is never listed as a step.
"""

from __future__ import annotations

import os
from typing import Any, Optional

import jax
import orbax.checkpoint as ocp
from absl import logging
from orbax.checkpoint.checkpoint_managers import preservation_policy as pp


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
    """Starts an asynchronous save; errors of the previous save surface here or in close()."""
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
    no sharding of their own are restored replicated over all of this process's devices.
    """
    replicated = jax.sharding.NamedSharding(jax.sharding.Mesh(jax.devices(), ('data',)),
                                            jax.sharding.PartitionSpec())
    def abstract_leaf(x):
      # Leaves without a sharding (e.g. from jax.eval_shape) restore replicated on this run's
      # devices, whatever topology wrote them.
      sharding = getattr(x, 'sharding', None) or replicated
      return jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding)
    abstract = jax.tree.map(abstract_leaf, target_tree)
    restored = self._manager.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(abstract), meta=ocp.args.JsonRestore()))
    logging.info('Restored checkpoint step %d from %s', step, self.directory)
    return restored.state, restored.meta

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()
