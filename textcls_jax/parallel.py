"""Everything that knows how many devices and hosts there are: the processes (which one is the
main one, barriers, agreeing on a flag), and the data-parallel placement of states and batches.

Two data-parallel modes run the same pure step function (train.train_step):
  'jit'   jax.jit over a Mesh of every device: the batch is one global array sharded on the 'data'
          axis, the state is replicated, and XLA inserts the gradient all-reduce. JAX's recommended
          path, and the one that scales to many hosts.
  'pmap'  jax.pmap over the local devices: the state carries a leading device axis, the step averages
          gradients with lax.pmean over the named axis.
Checkpoints always hold the plain, unreplicated state (as replicated global arrays), so a checkpoint
written in either mode on N devices restores in either mode on M devices.
"""

from __future__ import annotations

import functools
import os
from typing import Callable

import jax
import numpy as np
from absl import logging
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from textcls_jax import compile_cache, config_checks, step_cache

AXIS = 'data'
MODES = ('jit', 'pmap')


def initialize_distributed(coordinator_address: str = '', num_processes: int = 0,
                           process_id: int = -1) -> None:
  """jax.distributed.initialize for multi-host runs; a no-op on one host.

  Arguments left empty come from the environment (JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES,
  JAX_PROCESS_ID), or, on TPU pods and SLURM/Open MPI clusters, from jax's own cluster detection
  (TEXTCLS_DISTRIBUTED=auto).
  """
  coordinator_address = coordinator_address or os.environ.get('JAX_COORDINATOR_ADDRESS', '')
  num_processes = num_processes or int(os.environ.get('JAX_NUM_PROCESSES', '0') or 0)
  if process_id < 0:
    process_id = int(os.environ.get('JAX_PROCESS_ID', '-1') or -1)
  if coordinator_address and num_processes > 1:
    jax.distributed.initialize(coordinator_address=coordinator_address,
                               num_processes=num_processes, process_id=process_id)
  elif os.environ.get('TEXTCLS_DISTRIBUTED') == 'auto':
    jax.distributed.initialize()
  else:
    return
  logging.info('Process %d of %d; %d local / %d global devices', jax.process_index(),
               jax.process_count(), jax.local_device_count(), jax.device_count())


def num_processes() -> int:
  return jax.process_count()


def is_main_process() -> bool:
  """Process 0: the one that writes the workdir's shared files."""
  return jax.process_index() == 0


def barrier(name: str) -> None:
  """Waits until every process reaches the barrier of this name; a no-op for one process."""
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils
    multihost_utils.sync_global_devices(name)


def any_process(flag: bool) -> bool:
  """Whether `flag` is set on any process (every process must call it: it is a collective)."""
  if jax.process_count() == 1:
    return bool(flag)
  from jax.experimental import multihost_utils
  return bool(multihost_utils.process_allgather(np.int32(bool(flag))).any())


def replicated_on_all_devices() -> NamedSharding:
  """Replicated over every device of every process: how checkpoints hold the plain state."""
  return NamedSharding(Mesh(np.asarray(jax.devices()), (AXIS,)), P())


class DataParallel:
  """Places states and batches on the devices and compiles the steps for one mode."""

  def __init__(self, mode: str = 'jit', devices=None):
    if mode not in MODES:
      raise ValueError(f'unknown parallel.mode {mode!r}; choose from {", ".join(MODES)}')
    self.mode = mode
    self.devices = list(devices) if devices is not None else jax.devices()
    self.mesh = Mesh(np.asarray(self.devices), (AXIS,))
    self.replicated = NamedSharding(self.mesh, P())
    self.batch_sharding = NamedSharding(self.mesh, P(AXIS))
    self.local_devices = [d for d in self.devices if d.process_index == jax.process_index()]
    self.num_hosts = len({d.process_index for d in self.devices})
    self.host_id = sorted({d.process_index for d in self.devices}).index(jax.process_index())

  @property
  def num_devices(self) -> int:
    return len(self.devices)

  def host_batch_size(self, global_batch: int, what: str = 'train.batch_size',
                      micro_batches: int = 1) -> int:
    """This host's share of a global batch; a clear error when it does not split evenly over the
    devices, and each device's share into `micro_batches` (train.grad_accum_steps)."""
    if global_batch % self.num_devices:
      raise config_checks.ConfigError(f'{what}={global_batch} is not divisible by the {self.num_devices} '
                       f'devices; use a multiple of {self.num_devices}')
    per_device = global_batch // self.num_devices
    if per_device % micro_batches:
      raise config_checks.ConfigError(
          f'{what}={global_batch} gives each of the {self.num_devices} device(s) {per_device} rows, '
          f'which train.grad_accum_steps={micro_batches} does not split evenly; use a multiple of '
          f'{self.num_devices * micro_batches}')
    return global_batch // self.num_hosts

  # --- The state: checkpoint layout (plain, replicated on the mesh) <-> the mode's layout.

  def to_checkpoint_layout(self, tree):
    """The mode's state -> replicated global arrays without a device axis (what is saved)."""
    if self.mode == 'pmap':
      tree = jax.tree.map(lambda x: x[0], tree)
    return jax.tree.map(self._replicate_global, tree)

  def _replicate_global(self, x):
    if isinstance(x, jax.Array) and x.sharding == self.replicated:
      return x
    local = np.asarray(jax.device_get(x))
    return jax.make_array_from_process_local_data(self.replicated, local, local.shape)

  def from_checkpoint_layout(self, tree):
    """Replicated global arrays -> the mode's layout (pmap: a leading local-device axis)."""
    if self.mode == 'jit':
      return tree
    n = len(self.local_devices)
    stacked = NamedSharding(Mesh(np.asarray(self.local_devices), (AXIS,)), P(AXIS))
    return jax.tree.map(lambda x: jax.device_put(
        np.broadcast_to(np.asarray(x.addressable_data(0)), (n,) + x.shape), stacked), tree)

  def replicate_plain(self, tree):
    """A plain (single-copy) state -> replicated global arrays (a restore target, or to save)."""
    return jax.tree.map(self._replicate_global, tree)

  def put_state(self, tree):
    """A plain state -> the mode's layout."""
    return self.from_checkpoint_layout(self.replicate_plain(tree))

  # --- Batches.

  def put_batch(self, host_batch: dict):
    """This host's batch (numpy, leading axis = host batch) -> the step's input."""
    if self.mode == 'jit':
      return {k: jax.make_array_from_process_local_data(
          self.batch_sharding, v, (v.shape[0] * self.num_hosts,) + v.shape[1:])
              for k, v in host_batch.items()}
    n = len(self.local_devices)
    return {k: v.reshape((n, v.shape[0] // n) + v.shape[1:]) for k, v in host_batch.items()}

  # --- Steps.

  def compile_train_step(self, step_fn: Callable, compiler_options: dict | None = None,
                         cache_key: str = '') -> Callable:
    """step_fn(state, batch, rng, axis_name=...) -> (state, metrics), compiled for this mode.

    The compiled function returns metrics without a device axis in either mode. compiler_options
    (xla_options.for_step) apply to 'jit'; jax.pmap takes none, so 'pmap' compiles with XLA's
    defaults. A cache_key (what decides step_fn beyond this package's code and its arguments'
    shapes: the run's config) keeps the 'jit' step's executable on disk for the next run of one
    process (step_cache.py).
    """
    if self.mode == 'jit':
      jitted = jax.jit(step_fn, donate_argnums=(0,), compiler_options=compiler_options or None)
      folder = compile_cache.steps_dir()
      if not cache_key or folder is None or jax.process_count() > 1:
        return jitted
      return step_cache.cached(jitted, step_fn, cache_key, folder, compiler_options)
    pstep = jax.pmap(functools.partial(step_fn, axis_name=AXIS), axis_name=AXIS,
                     in_axes=(0, 0, None), donate_argnums=(0,), devices=self.local_devices)
    def run(state, batch, rng):
      state, metrics = pstep(state, batch, rng)
      return state, jax.tree.map(lambda x: x[0], metrics)
    return run

  def compile_eval_step(self, step_fn: Callable, compiler_options: dict | None = None) -> Callable:
    if self.mode == 'jit':
      return jax.jit(step_fn, compiler_options=compiler_options or None)
    pstep = jax.pmap(functools.partial(step_fn, axis_name=AXIS), axis_name=AXIS,
                     in_axes=(0, 0, None), devices=self.local_devices)
    return lambda state, batch, rng: jax.tree.map(lambda x: x[0], pstep(state, batch, rng))
