"""JAX's persistent compilation cache: where it lives, and turning it on before the first compile.

A resumed or repeated run then loads its compiled steps from disk instead of compiling them again
(docs/guides/speed.md, "Compiled once"). The location, first found wins:
  1. `config.compilation_cache` when it is set: a folder (local or gs://), or 'off';
  2. the environment variable TEXTCLS_JAX_COMPILATION_CACHE (a folder, or 'off');
  3. $XDG_CACHE_HOME/textcls-jax/jax (default ~/.cache/textcls-jax/jax), per user.
JAX keys each entry by the computation, the compiler flags and the devices, so one folder serves
every run and machine kind; a stale entry is never used. Its `steps` subfolder (local caches only)
holds whole compiled train steps (step_cache.py).
"""

from __future__ import annotations

import os
from typing import Optional

ENV = 'TEXTCLS_JAX_COMPILATION_CACHE'
OFF = 'off'


def default_dir() -> str:
  base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
  return os.path.join(base, 'textcls-jax', 'jax')


def resolve(configured: str = '') -> Optional[str]:
  """The cache folder to use (None: off) from a config value ('' = not set)."""
  choice = configured or os.environ.get(ENV, '') or default_dir()
  return None if choice == OFF else choice


def enable(configured: str = '') -> Optional[str]:
  """Points JAX at the cache folder (None: turns it off); returns the folder.

  Every compiled program is cached, however small or fast to compile: on a CPU the many small
  evaluation and initialization programs add up to seconds at a run's start.
  """
  import jax
  path = resolve(configured)
  if path is not None and '://' not in path:
    os.makedirs(path, exist_ok=True)
  jax.config.update('jax_compilation_cache_dir', path)
  if path is not None:
    jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.0)
    jax.config.update('jax_persistent_cache_min_entry_size_bytes', 0)
  return path


def steps_dir() -> Optional[str]:
  """Where step_cache.py keeps compiled train steps: the enabled cache's `steps` subfolder; None
  when the cache is off or not on a local disk."""
  import jax
  path = jax.config.values.get('jax_compilation_cache_dir')
  if not path or '://' in path:
    return None
  return os.path.join(path, 'steps')
