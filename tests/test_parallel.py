"""Data parallelism on 8 simulated CPU devices: pmap, jit over a mesh, several processes.

Each test runs in a subprocess, because the device count is fixed when JAX starts.
"""

import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]


def run_python(code: str, devices: int, env_extra=None, timeout=600, args=()):
  env = dict(os.environ, XLA_FLAGS=f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={devices}",
             TF_CPP_MIN_LOG_LEVEL='2', JAX_PLATFORMS='cpu', **(env_extra or {}))
  result = subprocess.run([sys.executable, '-c', textwrap.dedent(code), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)
  assert result.returncode == 0, result.stderr[-4000:]
  return result.stdout


EQUIVALENCE = '''
import json, sys, functools
import jax, jax.numpy as jnp, numpy as np
sys.path.insert(0, 'tests')
from textcls_jax import config_base, masking, models, parallel, tasks, train, train_state
from textcls_jax import vocab as special_ids
from textcls_jax.models import lora
from test_models import small_model_config

task = sys.argv[1] if len(sys.argv) > 1 else '{task}'
config = config_base.base_config()
config.model = small_model_config('{family}')
config.optim.warmup_steps = 1
# Some gradients are zero in exact arithmetic (e.g. attention key biases) and rounding noise in
# finite arithmetic; Adam with a tiny eps turns that noise into full-size steps. A larger eps keeps
# the comparison about the data-parallel arithmetic.
config.optim.eps = 1e-3
config.train.num_steps = 10
if task == 'classify_lora':  # Adapters on every projection, the rest of the encoder frozen.
  config.finetune.lora_rank = 2
  config.finetune.lora_targets = ('query', 'key', 'value', 'out')
vocab, length, global_batch = 50, 16, 16
rng = np.random.default_rng(0)
batches = []
for _ in range(4):
  tokens = rng.integers(4, vocab, size=(global_batch, length)).astype(np.int32)
  tokens[:, 0] = 2
  for i, n in enumerate(rng.integers(2, length, size=global_batch)):
    tokens[i, n:] = 0
  batches.append({{'tokens': tokens, 'label': rng.integers(0, 3, global_batch).astype(np.int32),
                   'weight': np.ones(global_batch, np.float32)}})
if task in ('mlm', 'rtd'):
  k = masking.num_predictions(length, 0.15)
  inputs = (jnp.ones((1, length), jnp.int32), jnp.zeros((1, k), jnp.int32))
  objective = functools.partial(tasks.mlm_objective, vocab_size=vocab, rate=0.15,
                                mask_fraction=0.8, random_fraction=0.1, max_predictions=k,
                                special=special_ids.SENTENCEPIECE)
  if task == 'rtd':
    objective = functools.partial(tasks.rtd_objective, discriminator_weight=50.0,
                                  temperature=1.0, **objective.keywords)
  for b in batches: del b['label']
else:
  inputs = (jnp.ones((1, length), jnp.int32),)
  objective = tasks.classification_objective
def set_dropout(rate):
  for key in ('dropout', 'head_dropout', 'attention_dropout'):
    if key in config.model: config.model[key] = rate
results = {{}}
# jit computes one function of the global batch however it is sharded, so it draws the same
# dropout on 1 and 8 devices; pmap draws each device's own, so it is compared with dropout off.
for name, mode, n, dropout in (('jit8', 'jit', 8, 0.3), ('jit1', 'jit', 1, 0.3),
                               ('pmap8', 'pmap', 8, 0.0), ('jit1_nodrop', 'jit', 1, 0.0)):
  set_dropout(dropout)
  model = {{'mlm': lambda: models.build_masked_lm(config.model, vocab, pad_id=0),
           'rtd': lambda: models.build_replaced_token_detector(config.model, vocab, 0.5, pad_id=0),
           'classify': lambda: models.build_classifier(config.model, vocab, 3, pad_id=0),
           'classify_lora': lambda: models.build_classifier(
               config.model, vocab, 3, pad_id=0,
               lora=lora.from_config(config.finetune))}}[task]()
  dp = parallel.DataParallel(mode, jax.devices()[:n])
  state = dp.put_state(train_state.create_train_state(config, model, inputs, jax.random.PRNGKey(0)))
  step = dp.compile_train_step(functools.partial(train.train_step, objective=objective))
  rng_key = jax.random.PRNGKey(1)
  losses = []
  for b in batches:
    state, metrics = step(state, dp.put_batch(b), rng_key)
    m = jax.device_get(metrics)
    losses.append(float(m['loss_sum'] / m['count']))
  params = jax.device_get(dp.to_checkpoint_layout(state).params)
  results[name] = {{'losses': losses,
                    'params': [np.asarray(x).ravel().tolist() for x in jax.tree.leaves(params)]}}
print(json.dumps(results))
'''


@pytest.mark.parametrize('task,family', [('classify', 'cnn'), ('classify', 'transformer'),
                                         ('classify_lora', 'transformer'),
                                         ('mlm', 'rnn'), ('mlm', 'transformer'),
                                         ('rtd', 'transformer')])
def test_pmap_mesh_and_one_device_agree(task, family):
  out = json.loads(run_python(EQUIVALENCE.format(task=task, family=family), devices=8)
                   .strip().splitlines()[-1])
  for name, ref in (('jit8', 'jit1'), ('pmap8', 'jit1_nodrop')):
    np.testing.assert_allclose(out[name]['losses'], out[ref]['losses'], rtol=2e-5, atol=2e-6)
    for a, b in zip(out[name]['params'], out[ref]['params']):
      np.testing.assert_allclose(a, b, rtol=1e-4, atol=2e-6)
    assert out[ref]['losses'][-1] != out[ref]['losses'][0]  # It trained.
  # Dropout was on in the jit runs: the same units were dropped on 1 and 8 devices.
  assert out['jit1']['losses'] != out['jit1_nodrop']['losses']


def test_global_batch_not_divisible_by_devices_is_refused():
  out = run_python('''
    from textcls_jax import parallel
    try:
      parallel.DataParallel('jit').host_batch_size(30)
    except ValueError as e:
      print(e)
  ''', devices=8)
  assert 'train.batch_size=30 is not divisible by the 8 devices; use a multiple of 8' in out


@pytest.fixture(scope='module')
def sentiment_dir(tmp_path_factory):
  from test_train import write_sentiment_tsv
  d = tmp_path_factory.mktemp('sentiment_mp')
  write_sentiment_tsv(d / 'train.tsv', 400, seed=0)
  write_sentiment_tsv(d / 'dev.tsv', 64, seed=1)
  return d


def main_command(workdir, data_dir, steps, *extra):
  return [sys.executable, '-m', 'textcls_jax.main', '--config=configs/tiny.py',
          f'--workdir={workdir}', f'--config.data.source=tsv:{data_dir}',
          '--config.tokenizer.vocab_size=60', '--config.data.max_len=16',
          '--config.train.batch_size=16', '--config.eval.batch_size=32',
          f'--config.train.num_steps={steps}', '--config.train.log_every_steps=2',
          '--config.train.eval_every_steps=4', '--config.checkpoint.every_steps=4',
          '--config.optim.schedule=constant', '--config.optim.eps=0.001', *extra]


def start(cmd, devices, env_extra=None):
  env = dict(os.environ, XLA_FLAGS=f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={devices}",
             TF_CPP_MIN_LOG_LEVEL='2', JAX_PLATFORMS='cpu', **(env_extra or {}))
  return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)


def finish(proc, timeout=600):
  out, _ = proc.communicate(timeout=timeout)
  assert proc.returncode == 0, out[-4000:]
  return out


def final_params(workdir):
  """The latest checkpoint's parameters, restored here: in 1 process on 1 device."""
  from textcls_jax.predict import Predictor
  import jax
  return [np.asarray(x) for x in jax.tree.leaves(Predictor.from_workdir(str(workdir),
                                                                        'latest')._params)]


def assert_params_close(a, b):
  assert len(a) == len(b)
  for x, y in zip(a, b):
    np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-5)


def free_port():
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def test_two_processes_match_one_process_and_restore_on_one_device(tmp_path, sentiment_dir):
  """The README's multi-host command, on 127.0.0.1: 2 processes x 2 devices == 1 x 4 devices."""
  single = start(main_command(tmp_path / 'one', sentiment_dir, 8), devices=4)
  finish(single)
  port = free_port()
  procs = [start(main_command(tmp_path / 'two', sentiment_dir, 8,
                              f'--coordinator_address=127.0.0.1:{port}', '--num_processes=2',
                              f'--process_id={i}'), devices=2) for i in range(2)]
  outs = [finish(p) for p in procs]
  assert 'on 4 device(s), 2 host(s)' in outs[0]
  assert 'step 8/8' in outs[0] and 'step 8/8' not in outs[1]  # Only process 0 logs progress.
  assert_params_close(final_params(tmp_path / 'two'), final_params(tmp_path / 'one'))


def _hosts(workdir, data_dir, steps, count, devices, *extra):
  """`count` processes of one run on 127.0.0.1, `devices` devices each."""
  port = free_port()
  return [start(main_command(workdir, data_dir, steps, f'--coordinator_address=127.0.0.1:{port}',
                             f'--num_processes={count}', f'--process_id={i}', *extra),
                devices=devices) for i in range(count)]


def test_a_run_saved_on_two_hosts_resumes_on_one_and_on_four_with_the_same_data(tmp_path,
                                                                               sentiment_dir):
  """The data position (step x global batch) is valid for any number of hosts: 8 steps on 2
  processes, then 8 more on 1 process or on 4, each ends as a run on 1 process throughout (to
  float32 rounding); a host that read other examples after the resume would not."""
  no_dropout = ('--config.model.dropout=0', '--config.model.head_dropout=0')
  reference = start(main_command(tmp_path / 'ref', sentiment_dir, 16, *no_dropout), devices=4)
  for proc in _hosts(tmp_path / 'one', sentiment_dir, 8, 2, 2, *no_dropout):
    finish(proc)
  shutil.copytree(tmp_path / 'one', tmp_path / 'four', ignore=shutil.ignore_patterns('.lock'))
  out = finish(start(main_command(tmp_path / 'one', sentiment_dir, 16, *no_dropout), devices=4))
  assert 'Resuming from step 8' in out and '1 host(s)' in out
  outs = [finish(p) for p in _hosts(tmp_path / 'four', sentiment_dir, 16, 4, 1, *no_dropout)]
  assert 'Resuming from step 8' in outs[0] and '4 host(s)' in outs[0]
  finish(reference)
  expected = final_params(tmp_path / 'ref')
  assert_params_close(final_params(tmp_path / 'one'), expected)
  assert_params_close(final_params(tmp_path / 'four'), expected)


def test_a_signal_to_one_host_stops_every_host_at_the_same_step(tmp_path, sentiment_dir):
  procs = _hosts(tmp_path / 'run', sentiment_dir, 100000, 2, 2,
                 '--config.checkpoint.every_steps=100000', '--config.train.eval_every_steps=100000')
  metrics = tmp_path / 'run' / 'metrics.jsonl'
  deadline = time.time() + 300
  while not (metrics.exists() and metrics.read_text().strip()):  # Training has started.
    assert time.time() < deadline and all(p.poll() is None for p in procs)
    time.sleep(0.1)
  procs[1].send_signal(signal.SIGTERM)  # Process 1 only; process 0 hears it through the vote.
  try:
    outs = [finish(p, timeout=180) for p in procs]  # Seconds, when the hosts agree.
  finally:
    for p in procs:
      p.kill()
  stops = [re.search(r'Stopped by (.+?) at step (\d+); checkpoint saved', out) for out in outs]
  assert all(stops), [out[-2000:] for out in outs]
  assert stops[1].group(1) == 'SIGTERM' and stops[0].group(1) == 'a signal to another process'
  step = int(stops[0].group(2))
  assert int(stops[1].group(2)) == step and step % 2 == 0  # Agreed at a log step (every 2).
  assert sorted(int(n) for n in os.listdir(tmp_path / 'run' / 'checkpoints') if n.isdigit()) == [
      step]


def test_checkpoints_move_across_device_counts_and_modes(tmp_path, sentiment_dir):
  """One run moved 8 (pmap) -> 1 (jit) -> 8 (jit) -> 4 (pmap) devices, 4 steps each: it resumes each
  time and ends as a run on one device throughout (to float32 rounding)."""
  no_dropout = ('--config.model.dropout=0', '--config.model.head_dropout=0')
  reference = start(main_command(tmp_path / 'ref', sentiment_dir, 16, *no_dropout), devices=1)
  workdir = tmp_path / 'moved'
  for (mode, devices), steps in zip((('pmap', 8), ('jit', 1), ('jit', 8), ('pmap', 4)),
                                    (4, 8, 12, 16)):
    out = finish(start(main_command(workdir, sentiment_dir, steps, f'--config.parallel.mode={mode}',
                                    *no_dropout), devices=devices))
    assert f'{mode} mode on {devices} device(s)' in out
    if steps > 4:
      assert f'Resuming from step {steps - 4}' in out
  finish(reference)
  assert_params_close(final_params(workdir), final_params(tmp_path / 'ref'))
