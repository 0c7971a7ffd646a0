"""step_cache.py: a repeated run's train step comes from disk, computes exactly what a compiled
one does, and a step that JAX's own cache supplied is never written (XLA:CPU re-serializes those
incompletely). Each run is a subprocess: a real second run loads what the first wrote."""

import functools
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from test_parallel import run_python
from textcls_jax import step_cache

RUN = '''
import json, os, sys, functools
import jax, jax.numpy as jnp, numpy as np
sys.path.insert(0, 'tests')
from textcls_jax import compile_cache, config_base, models, parallel, step_cache, tasks, train
from textcls_jax import train_state
from test_models import small_model_config

compile_cache.enable(sys.argv[1])
compiles = []
real_compile = step_cache._compile
def counted(*args):
  compiled, fresh = real_compile(*args)
  compiles.append(fresh)
  return compiled, fresh
step_cache._compile = counted

config = config_base.base_config()
config.model = small_model_config('cnn')
config.train.num_steps = 10
rng = np.random.default_rng(0)
batches = []
for length in (16, 12, 16, 12):  # Two input shapes: two executables.
  batches.append({'tokens': rng.integers(2, 50, size=(16, length)).astype(np.int32),
                  'label': rng.integers(0, 3, 16).astype(np.int32),
                  'weight': np.ones(16, np.float32)})

def run(n, key):
  model = models.build_classifier(config.model, 50, 3, pad_id=0)
  dp = parallel.DataParallel('jit', jax.devices()[:n])
  state = dp.put_state(train_state.create_train_state(
      config, model, (jnp.ones((1, 16), jnp.int32),), jax.random.PRNGKey(0)))
  step = dp.compile_train_step(functools.partial(train.train_step, objective=tasks.classification_objective),
                               cache_key=key)
  losses = []
  for b in batches:
    state, metrics = step(state, dp.put_batch(b), jax.random.PRNGKey(1))
    losses.append(float(metrics['loss_sum']))
  params = jax.device_get(dp.to_checkpoint_layout(state).params)
  return losses + [float(np.sum(np.abs(x))) for x in jax.tree.leaves(params)]

def saved():
  folder = compile_cache.steps_dir()
  return sorted(os.listdir(folder)) if os.path.isdir(folder) else []

out = {}
for name in sys.argv[2:]:
  n, key, *corrupt = name.split(':')
  if corrupt:
    for f in saved():
      open(os.path.join(compile_cache.steps_dir(), f), 'wb').write(b'cut short')
  del compiles[:]
  out[name] = {'result': run(int(n), key), 'compiles': list(compiles), 'saved': saved()}
print(json.dumps(out))
'''


def _runs(cache, *names) -> dict:
  return json.loads(run_python(RUN, devices=8, env_extra=None, args=[str(cache), *names])
                    .strip().splitlines()[-1])


def test_a_repeated_run_loads_its_step_from_disk_and_computes_the_same(tmp_path):
  # Without a key: plain jax.jit, JAX's persistent cache only. With one, in the same process: the
  # program is in JAX's cache now, so what comes back is a loaded executable and is not written.
  first = _runs(tmp_path / 'a', '8:', '8:key')
  assert first['8:key']['compiles'] == [False, False] and first['8:key']['saved'] == []
  reference = first['8:']['result']
  assert first['8:key']['result'] == reference

  # A fresh cache: compiled here, so written, one file per input shape, on 8 devices and on 1.
  second = _runs(tmp_path / 'b', '8:key', '1:key')
  assert second['8:key']['compiles'] == [True, True] and len(second['8:key']['saved']) == 2
  assert second['8:key']['result'] == reference
  assert second['1:key']['compiles'] == [True, True] and len(second['1:key']['saved']) == 4

  # The next run loads all four and compiles nothing; the numbers are bit for bit the same. A key
  # that changed compiles (a hit in JAX's cache, so nothing new is written); a file cut short is
  # a miss with a warning, not a crash, and is removed.
  third = _runs(tmp_path / 'b', '8:key', '1:key', '8:other', '8:key:corrupt')
  assert third['8:key']['compiles'] == [] and third['1:key']['compiles'] == []
  assert third['8:key']['result'] == reference
  assert third['1:key']['result'] == second['1:key']['result']
  assert third['8:other']['compiles'] == [False, False] and len(third['8:other']['saved']) == 4
  assert third['8:key:corrupt']['compiles'] == [False, False]
  assert len(third['8:key:corrupt']['saved']) == 2  # The damaged files are gone.
  assert third['8:key:corrupt']['result'] == reference


def test_the_fingerprint_follows_what_decides_the_program():
  state, batch = {'w': jnp.ones((3, 4))}, {'tokens': jnp.ones((2, 5), jnp.int32)}
  base = step_cache.fingerprint('config', (state, batch), None)
  assert base == step_cache.fingerprint('config', (state, batch), None)
  others = [
      step_cache.fingerprint('config2', (state, batch), None),
      step_cache.fingerprint('config', (state, {'tokens': jnp.ones((2, 6), jnp.int32)}), None),
      step_cache.fingerprint('config', (state, {'tokens': jnp.ones((2, 5), jnp.int16)}), None),
      step_cache.fingerprint('config', ({'v': jnp.ones((3, 4))}, batch), None),
      step_cache.fingerprint('config', (state, batch), {'xla_cpu_enable_fast_math': 'true'}),
  ]
  assert len({base, *others}) == 6


def _step(state, x):
  return jax.tree.map(lambda a: a + x.sum(), state), {'n': x.sum()}


def test_a_call_with_another_state_goes_to_jax_jit(tmp_path, monkeypatch):
  monkeypatch.setattr(step_cache, 'foreign_code', lambda obj: None)  # Keep this test's _step.
  step = step_cache.cached(jax.jit(_step), _step, 'k', str(tmp_path))
  x = jnp.ones(3)
  state, _ = step({'a': jnp.zeros(2)}, x)
  np.testing.assert_array_equal(state['a'], [3, 3])
  assert len(list(tmp_path.iterdir())) == 1  # Written.
  state, _ = step({'a': jnp.zeros(4, jnp.float32), 'b': jnp.zeros(())}, x)
  np.testing.assert_array_equal(state['b'], 3)


def test_a_step_that_runs_code_from_outside_the_package_is_not_kept(tmp_path):
  # A user's objective, or a package function a test patched: its code is in no key.
  from textcls_jax import tasks, train
  assert step_cache.foreign_code(functools.partial(
      train.train_step, objective=functools.partial(tasks.mlm_objective, rate=0.15))) is None
  assert 'my_objective' in step_cache.foreign_code(
      functools.partial(train.train_step, objective=my_objective))
  step = step_cache.cached(jax.jit(_step), _step, 'k', str(tmp_path))
  state, _ = step({'a': jnp.zeros(2)}, jnp.ones(3))
  np.testing.assert_array_equal(state['a'], [3, 3])
  assert not tmp_path.exists() or not list(tmp_path.iterdir())


def my_objective(*args):
  raise NotImplementedError
