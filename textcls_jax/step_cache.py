"""A compiled train step kept whole on disk, so that a repeated or resumed run's first step skips
tracing, lowering and the persistent-cache lookup (which needs the lowered program for its key).

JAX's persistent compilation cache (compile_cache.py) saves the compile, but a warm first step
still traces and lowers the step to find its entry: for the Transformer MLM step 0.8 of its 2.1 s
(2 AMD EPYC cores, 2026-12-02). This cache keys the executable by what decides the program without
tracing it: the caller's key (its config), this package's source, the library versions, JAX's
numerics flags, XLA_FLAGS, the compiler options, the host CPU, the devices, and the arguments'
tree, shapes, dtypes and shardings. Any change to one of them is a miss: the step compiles as usual and its
executable is written (atomically) beside the persistent cache, in compile_cache.steps_dir().

Only 'jit' steps in a single process use it. A file that cannot be read or loaded is a miss, with
a warning. Only an executable that XLA compiled in this process is written: XLA:CPU (jax 0.10)
serializes one that was itself loaded from JAX's persistent cache incompletely, and the copy then
fails at its first run ("Function ... not found"). So when a miss here is a hit there (the program
is unchanged, the key is not: a new data path in the config), the step runs as before and nothing
is written. Loading runs code from the file, as JAX's own cache does: the folder is the user's.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import platform
import re
import sys
import tempfile
from typing import Callable, Optional

import jax
from absl import logging

# JAX flags that change what a traced step computes.
_NUMERICS_FLAGS = ('jax_enable_x64', 'jax_default_matmul_precision', 'jax_default_prng_impl',
                   'jax_threefry_partitionable', 'jax_numpy_dtype_promotion',
                   'jax_numpy_rank_promotion', 'jax_enable_custom_prng')
_LIBRARIES = ('jax', 'jaxlib', 'flax', 'optax', 'numpy')  # Their versions are in the key.
_ADDRESS = re.compile(r' at 0x[0-9a-f]+')  # Object ids in reprs differ from process to process.


@functools.cache
def package_fingerprint() -> str:
  """sha256 over this package's Python sources (relative path and content, sorted)."""
  root = os.path.dirname(os.path.abspath(__file__))
  digest = hashlib.sha256()
  for folder, dirs, files in os.walk(root):
    dirs.sort()
    for name in sorted(f for f in files if f.endswith('.py')):
      path = os.path.join(folder, name)
      digest.update(os.path.relpath(path, root).encode() + b'\0')
      with open(path, 'rb') as f:
        digest.update(f.read() + b'\0')
  return digest.hexdigest()


# Code whose behaviour the key covers: this package's (its source is hashed) and the libraries'
# (their versions are). Anything else, say a user's own objective or a function patched in by a
# test, could change without the key changing, so a step that uses it is not kept.
_PACKAGE = __name__.split('.')[0]
_PLAIN = (bool, int, float, str, bytes, type(None))


def _top_module(obj) -> str:
  return (getattr(obj, '__module__', None) or '').split('.')[0]


def foreign_code(obj) -> Optional[str]:
  """What in `obj` (a step function, a partial of one, a train state's static fields) is code
  outside this package and the libraries, or a package function that is not the module's own
  (patched, or local to a function); None when there is none."""
  if isinstance(obj, _PLAIN):
    return None
  if isinstance(obj, (tuple, list)):
    return next(filter(None, map(foreign_code, obj)), None)
  if isinstance(obj, dict):
    return next(filter(None, map(foreign_code, obj.values())), None)
  if isinstance(obj, functools.partial):
    return foreign_code((obj.func, obj.args, obj.keywords))
  if hasattr(obj, '__func__') and hasattr(obj, '__self__'):  # A bound method: Module.apply.
    return foreign_code((obj.__func__, obj.__self__))
  top = _top_module(obj if callable(obj) and not isinstance(obj, type) else type(obj))
  if top in _LIBRARIES:
    return None
  if top != _PACKAGE:
    return repr(obj)
  if callable(obj) and not hasattr(obj, '__dataclass_fields__'):  # A function of the package.
    module = sys.modules.get(obj.__module__)
    found = module
    for part in obj.__qualname__.split('.'):
      found = getattr(found, part, None)
    return None if found is obj else f'{obj.__module__}.{obj.__qualname__} (not the module\'s own)'
  fields = getattr(obj, '__dataclass_fields__', {})  # A model: its submodules and settings.
  return foreign_code([getattr(obj, name, None) for name in fields
                       if name not in ('parent', 'name')])


@functools.cache
def _host_cpu() -> str:
  """The processor's architecture and instruction-set flags: XLA:CPU compiles for the host's, so
  a cache shared between unlike machines (a home folder on NFS) must not mix them."""
  flags = ''
  with contextlib.suppress(OSError):
    with open('/proc/cpuinfo') as f:
      flags = next((line for line in f if line.startswith(('flags', 'Features'))), '')
  return f'{platform.machine()} {platform.processor()} {flags.strip()}'


def _signature(args: tuple) -> str:
  """The arguments' tree (with its static fields' reprs), shapes, dtypes and shardings."""
  leaves, tree = jax.tree.flatten(args)
  parts = [_ADDRESS.sub('', str(tree))]
  for x in leaves:
    sharding = getattr(x, 'sharding', None)
    parts.append(f'{getattr(x, "shape", ())}:{getattr(x, "dtype", type(x).__name__)}:'
                 f'{getattr(x, "weak_type", False)}:{sharding}')
  return '\n'.join(parts)


def fingerprint(key: str, args: tuple, compiler_options: Optional[dict]) -> str:
  """The file name of the executable for `key` (the caller's: e.g. its config as JSON) at
  `args`: a sha256 over everything that decides the compiled program."""
  import importlib.metadata as metadata
  versions = [f'{name}=={metadata.version(name)}' for name in _LIBRARIES]
  flags = [f'{name}={jax.config.values.get(name)}' for name in _NUMERICS_FLAGS]
  devices = [f'{d.platform}:{d.device_kind}:{d.id}' for d in jax.devices()]
  material = '\n'.join([
      key, package_fingerprint(), platform.python_version(), _host_cpu(), *versions, *flags,
      os.environ.get('XLA_FLAGS', ''), repr(sorted((compiler_options or {}).items())),
      *devices, _signature(args)])
  return hashlib.sha256(material.encode()).hexdigest()


# JAX's monitoring events around a compile: a request to its persistent cache, and a hit there.
_CACHE_REQUEST = '/jax/compilation_cache/compile_requests_use_cache'
_CACHE_HIT = '/jax/compilation_cache/cache_hits'


def _compile(jitted, args):
  """(jitted's executable for args, whether XLA compiled it just now): False when it was loaded
  from JAX's persistent cache (or came from anywhere but a fresh compile), which makes it unfit to
  be written out again."""
  events = []
  def listen(event, **_):
    events.append(event)
  jax.monitoring.register_event_listener(listen)
  try:
    compiled = jitted.lower(*args).compile()
  finally:
    jax.monitoring.unregister_event_listener(listen)
  return compiled, _CACHE_REQUEST in events and _CACHE_HIT not in events


def _output_rest(compiled, args) -> Optional[object]:
  """A picklable stand-in for the step's outputs after the first, which is the first argument's
  tree (a train state, whose static fields do not pickle); None when the outputs are not so."""
  out_tree = compiled.out_tree
  if out_tree.num_nodes < 1 or len(out_tree.children()) != 2:
    return None
  rest = out_tree.children()[1]
  skeleton = jax.tree.unflatten(rest, [0] * rest.num_leaves)
  if jax.tree.structure((args[0], skeleton)) != out_tree:
    return None
  return skeleton


def _devices(args) -> list:
  found = {d for x in jax.tree.leaves(args) if hasattr(x, 'sharding') for d in x.sharding.device_set}
  return sorted(found, key=lambda d: d.id)


def load_or_compile(jitted, args: tuple, key: str, folder: str,
                    compiler_options: Optional[dict] = None):
  """jitted's compiled executable for args (a jax.stages.Compiled): read from folder when an
  earlier run wrote it for the same fingerprint, else compiled and written there."""
  from jax.experimental import serialize_executable
  path = os.path.join(folder, fingerprint(key, args, compiler_options) + '.step')
  in_tree = jax.tree.structure((args, {}))
  if os.path.exists(path):
    try:
      with open(path, 'rb') as f:
        payload, rest = pickle.load(f)
      out_tree = jax.tree.structure((args[0], rest))
      return serialize_executable.deserialize_and_load(
          payload, in_tree, out_tree, execution_devices=_devices(args))
    except Exception as e:  # A damaged file, a disk error: compile instead.
      logging.warning('Compiled step %s unreadable (%s: %s); compiling the step and removing it',
                      path, type(e).__name__, e)
      with contextlib.suppress(OSError):
        os.remove(path)
  compiled, fresh = _compile(jitted, args)
  rest = _output_rest(compiled, args)
  if not fresh or rest is None:
    return compiled
  temporary = None
  try:
    payload, _, _ = serialize_executable.serialize(compiled)
    os.makedirs(folder, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, suffix='.tmp', delete=False) as f:
      temporary = f.name
      pickle.dump((payload, rest), f)
    os.replace(temporary, path)  # Whole or not at all: a reader never sees a partial file.
  except Exception as e:  # The step still runs; only the next run's head start is lost.
    logging.warning('Compiled step not saved to %s (%s: %s)', folder, type(e).__name__, e)
    if temporary:
      with contextlib.suppress(OSError):
        os.remove(temporary)
  return compiled


def cached(jitted, step_fn: Callable, key: str, folder: str,
           compiler_options: Optional[dict] = None) -> Callable:
  """jitted (jax.jit of step_fn(state, *inputs) -> (state's tree, rest)) as a function that
  takes the executable for each new shape of its inputs from `folder` (load_or_compile). A call
  whose state no longer matches its executable's goes to jitted itself, and so do all calls when
  step_fn or the state's static fields (its model, its optimizer) hold code the key does not
  cover (foreign_code)."""
  executables = {}
  foreign = foreign_code(step_fn)
  key = f'{key}\n{_ADDRESS.sub("", repr(step_fn))}'  # Its bound settings: vocab_size=8192, ...

  def step(*args):
    nonlocal foreign
    shapes = tuple((getattr(x, 'shape', ()), getattr(x, 'dtype', None))
                   for x in jax.tree.leaves(args[1:]))
    if shapes not in executables:
      foreign = foreign or foreign_code(_static_fields(args[0]))
      if foreign:
        logging.info('Compiled step not kept on disk: it runs code outside %s: %s', _PACKAGE,
                     foreign)
        executables[shapes] = jitted
      else:
        executables[shapes] = load_or_compile(jitted, args, key, folder, compiler_options)
    try:
      return executables[shapes](*args)
    except TypeError:  # Raised on mismatched arguments, before anything runs or is donated.
      return jitted(*args)
  return step


def _static_fields(state) -> list:
  """A flax struct dataclass's fields that are not arrays (a train state's apply_fn and tx)."""
  import dataclasses
  if not dataclasses.is_dataclass(state):
    return []
  return [getattr(state, f.name) for f in dataclasses.fields(state)
          if not f.metadata.get('pytree_node', True)]
