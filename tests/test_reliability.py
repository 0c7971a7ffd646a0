"""Reliability: exact resume after a stop or a kill, corrupt checkpoints, and the NaN/Inf guard.

The strongest check is `test_killed_again_and_again_ends_bit_identical`: a real training process is
stopped with SIGTERM and killed with SIGKILL (once while it is writing a checkpoint) several times,
and its final state must equal, bit for bit, that of a run that was never interrupted.
"""

import errno
import json
import os
import pathlib
import random
import re
import shutil
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from textcls_jax import checkpoint as ckpt_lib
from textcls_jax import train
from textcls_jax import train_state
from textcls_jax import workdir as wd

from test_mlm import _mlm_config
from test_train import _metrics, tiny_config

REPO = pathlib.Path(__file__).resolve().parents[1]


def _final_meta(workdir):
  checkpoints = ckpt_lib.Checkpointer(os.path.join(workdir, wd.CHECKPOINTS))
  try:
    step = checkpoints.latest_step()
    return step, checkpoints.read_meta(step)
  finally:
    checkpoints.close()


def _rows(workdir):
  """metrics.jsonl without the timing figure, which no two runs share."""
  return [{k: v for k, v in row.items() if k != 'steps_per_s'} for row in _metrics(workdir)]


def _saved_arrays(workdir, step):
  """The arrays of a saved state, read back as they are on disk (no target tree)."""
  import orbax.checkpoint as ocp
  with ocp.PyTreeCheckpointer() as checkpointer:
    return checkpointer.restore(os.path.join(workdir, wd.CHECKPOINTS, str(step), 'state'))


def assert_same_run(a, b, num_steps):
  """The two workdirs end in the same state (checksum and arrays) with the same metric rows."""
  (step_a, meta_a), (step_b, meta_b) = _final_meta(a), _final_meta(b)
  assert step_a == step_b == num_steps
  assert meta_a['digest'] == meta_b['digest']  # params, optimizer state, step and RNG key.
  tree_a, tree_b = _saved_arrays(a, num_steps), _saved_arrays(b, num_steps)
  assert jax.tree.structure(tree_a) == jax.tree.structure(tree_b)
  for x, y in zip(jax.tree.leaves(tree_a), jax.tree.leaves(tree_b)):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
  assert _rows(a) == _rows(b)


def _config(kind, family, tmp_path, data_dir):
  if kind == 'classify':
    config = tiny_config(data_dir, family, steps=30)
  else:
    config = _mlm_config(tmp_path, family)
    config.task = kind
    config.train.num_steps = 40
    config.train.log_every_steps = 10
    config.train.eval_every_steps = 20
    config.checkpoint.every_steps = 20
  return config


def _stop_at(monkeypatch, stop_step):
  """Makes the loop see a SIGTERM at `stop_step`, as the real handler would report it."""
  def requested(self, step, every):
    del every
    if step == stop_step:
      self.signal_name = 'SIGTERM'
      return True
    return False
  monkeypatch.setattr(train.PreemptionHandler, 'requested', requested)


# Stops inside a log window (13) for every family; for one of each objective also on a log
# boundary (10: nothing half-summed) and on a step that was just saved (20: no second save).
STOPS = {('classify', 'cnn'): (10, 13, 20), ('mlm', 'transformer'): (10, 13, 20)}


@pytest.mark.parametrize('family', ['cnn', 'rnn', 'transformer'])
@pytest.mark.parametrize('kind', ['classify', 'mlm'])
def test_stop_anywhere_then_resume_equals_an_uninterrupted_run(data_dir, tmp_path, monkeypatch,
                                                               caplog, train_step_calls, kind,
                                                               family):
  config = _config(kind, family, tmp_path, data_dir)
  _stop_resume_and_compare(config, STOPS.get((kind, family), (13,)), tmp_path, monkeypatch, caplog,
                           train_step_calls)


@pytest.mark.parametrize('kind,family', [('classify', 'rnn'), ('mlm', 'cnn'), ('rtd', 'cnn')])
def test_resume_with_gradient_accumulation_equals_an_uninterrupted_run(data_dir, tmp_path,
                                                                       monkeypatch, caplog,
                                                                       train_step_calls, kind,
                                                                       family):
  config = _config(kind, family, tmp_path, data_dir)
  config.train.grad_accum_steps = 2
  _stop_resume_and_compare(config, (13,), tmp_path, monkeypatch, caplog, train_step_calls)


def _stop_resume_and_compare(config, stops, tmp_path, monkeypatch, caplog, train_step_calls):
  """A run stopped at each of `stops` and resumed ends bit-identical to one that never stopped."""
  train.train_and_evaluate(config, str(tmp_path / 'whole'))
  assert len(train_step_calls) == config.train.num_steps
  train_step_calls.clear()
  resumed_at = 0
  for stop in tuple(stops) + (None,):
    caplog.clear()
    with monkeypatch.context() as patch, caplog.at_level('INFO'):
      if stop:
        _stop_at(patch, stop)
      train.train_and_evaluate(config, str(tmp_path / 'split'))
    if resumed_at:  # A resume, not a silent restart (which a deterministic run would hide).
      assert f'Resuming from step {resumed_at}' in caplog.text
    assert _final_meta(tmp_path / 'split')[0] == (stop or config.train.num_steps)
    resumed_at = stop
  assert len(train_step_calls) == config.train.num_steps  # Every step once over all the pieces.
  assert_same_run(tmp_path / 'whole', tmp_path / 'split', config.train.num_steps)


# --- A real process, stopped and killed again and again.

def _main(config_name, workdir, args):
  return subprocess.Popen(
      [sys.executable, '-m', 'textcls_jax.main', f'--config=configs/{config_name}.py',
       f'--workdir={workdir}', *args], cwd=REPO, stdout=subprocess.PIPE,
      stderr=subprocess.STDOUT, text=True)


def _last_train_step(workdir) -> int:
  try:
    rows = _metrics(workdir)
  except (FileNotFoundError, json.JSONDecodeError):
    return -1
  return max((r['step'] for r in rows if r['split'] == 'train'), default=-1)


def _wait(proc, condition, what, timeout=300):
  deadline = time.time() + timeout
  while not condition():
    if proc.poll() is not None:
      raise AssertionError(f'the run ended before {what}: {proc.stdout.read()[-3000:]}')
    if time.time() > deadline:
      proc.kill()
      raise AssertionError(f'timed out waiting for {what}')
    time.sleep(0.002)


def _complete_steps(ckpt_dir) -> list[int]:
  return sorted(int(n) for n in os.listdir(ckpt_dir) if n.isdigit()) if ckpt_dir.exists() else []


def _saving(ckpt_dir) -> bool:
  try:
    return any('tmp' in n for n in os.listdir(ckpt_dir))
  except FileNotFoundError:
    return False


def _resumed_from(out: str) -> int:
  return int(out.split('Resuming from step ')[1].split()[0])


@pytest.mark.parametrize('kind', ['classify', 'mlm'])
def test_killed_again_and_again_ends_bit_identical(data_dir, tmp_path, kind):
  if kind == 'classify':
    config_name = 'tiny'  # The CNN.
    args = [f'--config.data.source=tsv:{data_dir}', '--config.tokenizer.vocab_size=60',
            '--config.data.max_len=16', '--config.train.batch_size=16']
  else:
    config_name = 'tiny_mlm'  # The transformer.
    corpus = tmp_path / 'corpus.txt'
    from conftest import make_corpus
    corpus.write_text('\n'.join(make_corpus(3000, seed=7)) + '\n')
    args = [f"--config.data.corpus_sources=('text:{corpus}',)", '--config.data.corpus_max_chars=0',
            '--config.tokenizer.vocab_size=60', '--config.data.seq_len=32',
            '--config.model.max_len=32']
  steps = 400
  args += [f'--config.train.num_steps={steps}', '--config.train.log_every_steps=10',
           '--config.train.eval_every_steps=100', '--config.checkpoint.every_steps=50']
  reference = _main(config_name, tmp_path / 'whole', args)
  out, _ = reference.communicate(timeout=600)
  assert reference.returncode == 0, out[-3000:]

  work = tmp_path / 'killed'
  ckpt = work / wd.CHECKPOINTS
  rng = random.Random(0)
  expected_resume = None
  # SIGTERM at a random step, SIGKILL while a checkpoint is being written, SIGKILL at a random
  # step, SIGTERM again; then the run is left to finish.
  for how in ('SIGTERM', 'SIGKILL during save', 'SIGKILL', 'SIGTERM'):
    before = _last_train_step(work)
    proc = _main(config_name, work, args)
    if how == 'SIGKILL during save':
      _wait(proc, lambda: _last_train_step(work) > before, 'training started')
      _wait(proc, lambda: _saving(ckpt), 'a checkpoint save')
      proc.send_signal(signal.SIGKILL)
      out, _ = proc.communicate(timeout=60)
      assert _saving(ckpt), 'the kill came after the save had finished'
    else:
      target = before + rng.randrange(10, 80, 10)
      _wait(proc, lambda: _last_train_step(work) >= target, f'step {target}')
      time.sleep(rng.random() * 0.05)  # Anywhere inside the next log window.
      proc.send_signal(getattr(signal, how))
      out, _ = proc.communicate(timeout=300)
      if how == 'SIGTERM':
        assert proc.returncode == 0, out[-3000:]
        assert f'Stopped by SIGTERM at step {_complete_steps(ckpt)[-1]}' in out
    if expected_resume is not None:  # Never from a partial checkpoint: the newest complete one.
      assert _resumed_from(out) == expected_resume, out[-3000:]
    complete = _complete_steps(ckpt)
    assert complete and complete[-1] < steps, f'{how}: the run was not interrupted'
    expected_resume = complete[-1]
  final = _main(config_name, work, args)
  out, _ = final.communicate(timeout=600)
  assert final.returncode == 0, out[-3000:]
  assert _resumed_from(out) == expected_resume
  assert not _saving(ckpt)
  assert_same_run(tmp_path / 'whole', work, steps)


# --- Damaged checkpoints.

@pytest.fixture(scope='module')
def finished_run(data_dir, tmp_path_factory):
  """A finished tiny run with checkpoints at steps 20 and 40 (and its config)."""
  config = tiny_config(data_dir, steps=40)
  workdir = tmp_path_factory.mktemp('finished') / 'run'
  train.train_and_evaluate(config, str(workdir))
  assert _complete_steps(workdir / wd.CHECKPOINTS) == [20, 40]
  return workdir, config


def _largest_file(directory):
  return max((p for p in pathlib.Path(directory).rglob('*') if p.is_file()),
             key=lambda p: p.stat().st_size)


def _flip_bytes(step_dir):
  path = _largest_file(step_dir / 'state')
  data = bytearray(path.read_bytes())
  for i in range(len(data) // 2, min(len(data), len(data) // 2 + 64)):
    data[i] ^= 0xFF
  path.write_bytes(bytes(data))


def _truncate(step_dir):
  path = _largest_file(step_dir / 'state')
  path.write_bytes(path.read_bytes()[:path.stat().st_size // 2])


def _delete_a_file(step_dir):
  _largest_file(step_dir / 'state').unlink()


def _garble_meta(step_dir):
  for path in (step_dir / 'meta').rglob('*'):
    if path.is_file():
      path.write_text('{"step": 4')


DAMAGE = {'flipped bytes': _flip_bytes, 'truncated': _truncate, 'missing file': _delete_a_file,
          'garbled meta': _garble_meta}


@pytest.mark.parametrize('damage', DAMAGE)
def test_corrupt_latest_checkpoint_falls_back_with_a_warning(finished_run, tmp_path, caplog,
                                                             damage):
  whole, config = finished_run
  hurt = tmp_path / 'run'
  shutil.copytree(whole, hurt)
  DAMAGE[damage](hurt / wd.CHECKPOINTS / '40')
  with caplog.at_level('WARNING'):
    train.train_and_evaluate(config, str(hurt))
  warnings = ' '.join(r.getMessage() for r in caplog.records if r.levelname == 'WARNING')
  assert f'{hurt / wd.CHECKPOINTS / "40"}' in warnings
  assert 'Resuming from step 20 instead' in warnings
  moved = os.listdir(hurt / ckpt_lib.CORRUPT_DIR)
  assert len(moved) == 1 and moved[0].startswith('40-')  # Kept aside for inspection.
  assert_same_run(whole, hurt, 40)  # Steps 21-40 trained again, exactly as the first time.


@pytest.mark.parametrize('error,kind', [
    (OSError(errno.EIO, 'Input/output error'), ckpt_lib.CheckpointUnreadableError),
    (PermissionError(errno.EACCES, 'Permission denied'), ckpt_lib.CheckpointUnreadableError),
    (ValueError('UNAVAILABLE: Connection reset by peer'), ckpt_lib.CheckpointUnreadableError),
    (ValueError('DEADLINE_EXCEEDED: read timed out'), ckpt_lib.CheckpointUnreadableError),
    (RuntimeError('a failure nobody has seen before'), ckpt_lib.CheckpointUnreadableError),
    (FileNotFoundError(errno.ENOENT, 'No such file or directory'),
     ckpt_lib.CheckpointCorruptError),
    (ValueError('DATA_LOSS: Error reading "d/ab": unexpected end of file'),
     ckpt_lib.CheckpointCorruptError),
    (KeyError('state.params.w was not found in the checkpoint'), ckpt_lib.CheckpointCorruptError),
])
def test_only_a_recognised_content_fault_counts_as_corrupt(error, kind):
  """checkpoint.read_fault: only CheckpointCorruptError may set a checkpoint aside, so storage
  faults, transient or not, and anything unrecognised are CheckpointUnreadableError."""
  try:
    raise RuntimeError('restore failed') from error  # As Orbax wraps what TensorStore raised.
  except RuntimeError as wrapped:
    fault = ckpt_lib.read_fault(wrapped, 'ckpt/40')
  assert type(fault) is kind and str(fault).startswith('ckpt/40 cannot be read'), fault


def test_a_transient_read_error_stops_the_run_moves_nothing_and_the_next_run_resumes(
    finished_run, tmp_path, monkeypatch):
  import orbax.checkpoint as ocp
  whole, config = finished_run
  workdir = tmp_path / 'run'
  shutil.copytree(whole, workdir)
  config = config.copy_and_resolve_references()
  config.train.num_steps = 60
  def io_error(self, directory):
    raise OSError(errno.EIO, 'Input/output error', str(directory))
  with monkeypatch.context() as patch:
    patch.setattr(ocp.StandardCheckpointHandler, 'metadata', io_error)
    with pytest.raises(ckpt_lib.CheckpointUnreadableError,
                       match=r'checkpoints/40 cannot be read, for a reason that is not its content'
                             r' \(OSError: .*Input/output error.*it was not moved'):
      train.train_and_evaluate(config, str(workdir))
  assert _complete_steps(workdir / wd.CHECKPOINTS) == [20, 40]
  assert not (workdir / ckpt_lib.CORRUPT_DIR).exists()
  train.train_and_evaluate(config, str(workdir))  # The fault gone: it resumes from 40.
  assert _complete_steps(workdir / wd.CHECKPOINTS)[-1] == 60


def test_corrupt_checkpoint_stops_when_configured(finished_run, tmp_path):
  whole, config = finished_run
  hurt = tmp_path / 'run'
  shutil.copytree(whole, hurt)
  _flip_bytes(hurt / wd.CHECKPOINTS / '40')
  config = config.copy_and_resolve_references()
  config.checkpoint.on_corrupt = 'error'
  with pytest.raises(ckpt_lib.CheckpointCorruptError,
                     match=f'{hurt / wd.CHECKPOINTS / "40"}.*checkpoint.on_corrupt=fallback'):
    train.train_and_evaluate(config, str(hurt))
  assert _complete_steps(hurt / wd.CHECKPOINTS) == [20, 40]  # Nothing moved or deleted.


def test_no_intact_checkpoint_is_an_error_naming_each_and_moves_none(finished_run, tmp_path):
  whole, config = finished_run
  hurt = tmp_path / 'run'
  shutil.copytree(whole, hurt)
  _truncate(hurt / wd.CHECKPOINTS / '40')
  _garble_meta(hurt / wd.CHECKPOINTS / '20')
  for _ in range(2):  # Nothing is moved, so a second run does not start from scratch either.
    with pytest.raises(ckpt_lib.CheckpointCorruptError,
                       match='no checkpoint could be restored, so none was moved') as e:
      train.train_and_evaluate(config, str(hurt))
    assert f'{wd.CHECKPOINTS}/40' in str(e.value) and f'{wd.CHECKPOINTS}/20' in str(e.value)
    assert _complete_steps(hurt / wd.CHECKPOINTS) == [20, 40]
    assert not (hurt / ckpt_lib.CORRUPT_DIR).exists()


# --- NaN and Inf.

def _poison_at(monkeypatch, bad_step):
  """Makes the loss (and so every gradient) NaN at `bad_step`, inside the real train step."""
  real = train.train_step
  def step_fn(state, batch, rng, *, objective, axis_name=None, **options):
    def poisoned(apply_fn, params, batch, rng, is_train, row_offset=0):
      loss, sums = objective(apply_fn, params, batch, rng, is_train, row_offset)
      factor = jnp.where(state.step + 1 == bad_step, jnp.nan, 1.0)
      return loss * factor, dict(sums, loss_sum=sums['loss_sum'] * factor)
    return real(state, batch, rng, objective=poisoned, axis_name=axis_name, **options)
  monkeypatch.setattr(train, 'train_step', step_fn)


def test_non_finite_update_is_not_applied():
  import optax
  params = {'w': jnp.arange(3.0)}
  state = train_state.TrainState.create(apply_fn=None, params=params, tx=optax.adam(0.1))
  def objective(apply_fn, params, batch, rng, is_train, row_offset=0):
    loss_sum = (params['w'] * batch['x']).sum()
    return loss_sum, {'loss_sum': loss_sum, 'count': jnp.ones(())}
  good, metrics = train.train_step(state, {'x': jnp.ones(3)}, jax.random.PRNGKey(0),
                                   objective=objective)
  assert float(metrics['nonfinite_steps']) == 0 and not np.array_equal(good.params['w'],
                                                                       params['w'])
  for bad in (jnp.nan, jnp.inf):
    new, metrics = train.train_step(good, {'x': jnp.array([1.0, bad, 1.0])},
                                    jax.random.PRNGKey(0), objective=objective)
    assert int(new.step) == int(good.step) + 1
    for x, y in zip(jax.tree.leaves((new.params, new.opt_state)),
                    jax.tree.leaves((good.params, good.opt_state))):
      np.testing.assert_array_equal(x, y)
    assert float(metrics['nonfinite_steps']) == 1
    assert all(np.isfinite(v).all() for v in jax.tree.leaves(metrics))


@pytest.mark.parametrize('bad_step', [27, 40])
def test_non_finite_step_stops_the_run_naming_it(data_dir, tmp_path, monkeypatch, bad_step):
  config = tiny_config(data_dir, steps=40)
  with monkeypatch.context() as patch:
    _poison_at(patch, bad_step)
    with pytest.raises(train.NonFiniteError, match=f'^step {bad_step}: .*checkpoint \\(step 20\\)'):
      train.train_and_evaluate(config, str(tmp_path))
  assert _complete_steps(tmp_path / wd.CHECKPOINTS) == [20]  # Nothing saved past the bad step.
  train.train_and_evaluate(config, str(tmp_path))  # The workdir resumes as it is.
  assert _complete_steps(tmp_path / wd.CHECKPOINTS)[-1] == 40


def test_a_non_finite_stop_ends_the_command_with_status_1_in_one_line(data_dir, tmp_path):
  """A learning rate of 1e30 overflows the model within a few steps: the command line's run stops
  at the first non-finite step, exit status 1, and says so in one line."""
  proc = _main('tiny', tmp_path / 'run', [
      f'--config.data.source=tsv:{data_dir}', '--config.tokenizer.vocab_size=60',
      '--config.data.max_len=16', '--config.train.num_steps=40',
      '--config.optim.learning_rate=1e30', '--config.optim.warmup_steps=0',
      '--config.optim.schedule=constant'])
  out, _ = proc.communicate(timeout=300)
  assert proc.returncode == 1, out[-3000:]
  assert 'Traceback' not in out, out[-3000:]
  last = out.strip().splitlines()[-1]
  assert re.match(r'error: step \d+: the loss or a gradient is NaN or Inf.*'
                  r'train\.on_nonfinite=skip', last), last


def test_non_finite_steps_can_be_skipped_and_counted(data_dir, tmp_path, monkeypatch, caplog):
  config = tiny_config(data_dir, steps=40)
  config.train.on_nonfinite = 'skip'
  _poison_at(monkeypatch, 27)
  with caplog.at_level('WARNING'):
    figures = train.train_and_evaluate(config, str(tmp_path))
  assert 'step(s) with a NaN/Inf loss or gradient skipped (1 in this run)' in caplog.text
  skipped = {r['step']: r['nonfinite_steps'] for r in _metrics(tmp_path) if r['split'] == 'train'}
  assert skipped == {10: 0, 20: 0, 30: 1, 40: 0}
  assert np.isfinite(figures['loss']) and figures['accuracy'] > 0.6


# --- The checksum alone, the non-finite gradient, retention and the best checkpoint.

def _restore_target(workdir):
  """The abstract tree a workdir's checkpoints restore onto, built as Predictor builds it."""
  import ml_collections
  from textcls_jax import models
  from textcls_jax import train_state
  from textcls_jax.data import tokenizer as tok
  config = ml_collections.ConfigDict(wd.read_json(os.path.join(workdir, wd.CONFIG)))
  vocab_size = tok.SentencePieceTokenizer(os.path.join(workdir, wd.TOKENIZER)).vocab_size
  labels = wd.read_json(os.path.join(workdir, wd.LABELS))['names']
  model, init_inputs = models.build_for_task(config, vocab_size, len(labels), pad_id=0)
  return train_state.abstract_checkpoint_item(config, model, init_inputs)


def _restore(workdir, step):
  checkpoints = ckpt_lib.Checkpointer(os.path.join(workdir, wd.CHECKPOINTS))
  try:
    return checkpoints.restore(step, _restore_target(workdir))
  finally:
    checkpoints.close()


def _edit_meta(step_dir, edit):
  """Rewrites the JSON of a step's meta item (the file that holds the digest) with `edit`."""
  files = [p for p in (step_dir / 'meta').rglob('*') if p.is_file()]
  [path] = [p for p in files if '"digest"' in p.read_text()]
  meta = json.loads(path.read_text())
  edit(meta)
  path.write_text(json.dumps(meta))


def test_a_wrong_digest_alone_fails_the_restore(finished_run, tmp_path):
  """Arrays intact, only the stored checksum changed: the check itself must catch it."""
  whole, _ = finished_run
  hurt = tmp_path / 'run'
  shutil.copytree(whole, hurt)
  def rewrite(meta):
    # Same length and alphabet, one hex digit different: still a plausible digest.
    meta['digest'] = ('0' if meta['digest'][0] != '0' else '1') + meta['digest'][1:]
  _edit_meta(hurt / wd.CHECKPOINTS / '40', rewrite)
  with pytest.raises(ckpt_lib.CheckpointCorruptError, match='do not match the checksum'):
    _restore(hurt, 40)
  _restore(whole, 40)  # The untouched copy restores: only the digest differs.


def test_a_meta_without_digest_restores_unverified_with_a_warning(finished_run, tmp_path, caplog):
  whole, _ = finished_run
  old = tmp_path / 'run'
  shutil.copytree(whole, old)
  _edit_meta(old / wd.CHECKPOINTS / '40', lambda meta: meta.pop('digest'))
  with caplog.at_level('WARNING'):
    tree, meta = _restore(old, 40)
  assert 'digest' not in meta and meta['step'] == 40
  assert f'{old / wd.CHECKPOINTS / "40"} has no checksum' in caplog.text
  expected, _ = _restore(whole, 40)
  assert jax.tree.structure(tree) == jax.tree.structure(expected)
  for x, y in zip(jax.tree.leaves(tree), jax.tree.leaves(expected)):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.mark.parametrize('bad', ['inf', 'nan'])
def test_finite_loss_with_a_non_finite_gradient_is_not_applied(bad):
  """The loss sqrt(a*w + b) is finite (0) where a*w + b = 0, but its gradient there is not: 1/0
  (inf) for a = 1, or 0 * 1/0 (nan) for a = 0. Only the gradient-norm check can catch it."""
  import optax
  state = train_state.TrainState.create(apply_fn=None, params={'w': jnp.array([1.0, 2.0, 3.0])},
                                  tx=optax.adam(0.1))
  def objective(apply_fn, params, batch, rng, is_train, row_offset=0):
    loss_sum = jnp.sqrt(batch['a'] * params['w'] + batch['b']).sum()
    return loss_sum, {'loss_sum': loss_sum, 'count': jnp.ones(())}
  good_batch = {'a': jnp.ones(3), 'b': jnp.zeros(3)}
  good, metrics = train.train_step(state, good_batch, jax.random.PRNGKey(0), objective=objective)
  assert float(metrics['nonfinite_steps']) == 0
  w = good.params['w']
  if bad == 'inf':
    batch = {'a': jnp.ones(3), 'b': jnp.array([0.0, -1.0, 0.0]) * w}  # Exactly 0 at w[1].
  else:
    batch = {'a': jnp.array([1.0, 0.0, 1.0]), 'b': jnp.zeros(3)}
  loss, grads = jax.value_and_grad(lambda p: objective(None, p, batch, None, True)[0])(good.params)
  assert np.isfinite(loss) and not np.isfinite(grads['w']).all()  # The premise.
  new, metrics = train.train_step(good, batch, jax.random.PRNGKey(0), objective=objective)
  assert int(new.step) == int(good.step) + 1
  for x, y in zip(jax.tree.leaves((new.params, new.opt_state)),
                  jax.tree.leaves((good.params, good.opt_state))):
    np.testing.assert_array_equal(x, y)
  assert float(metrics['nonfinite_steps']) == 1 and float(metrics['steps']) == 0
  assert all(np.isfinite(v).all() for v in jax.tree.leaves(metrics))


def test_retention_keeps_the_last_two_and_the_best_and_predict_loads_them(tmp_path):
  """Dev labels are the training labels flipped, so dev loss rises as the model learns: the best
  checkpoint by dev loss (best_mode 'min') is an early one, kept beside the last two."""
  from conftest import write_sentiment_tsv
  data = tmp_path / 'data'
  data.mkdir()
  write_sentiment_tsv(data / 'train.tsv', 600, seed=0)
  write_sentiment_tsv(data / 'dev.tsv', 100, seed=1)
  flipped = {'pos': 'neg', 'neg': 'pos'}
  lines = (data / 'dev.tsv').read_text().splitlines()
  (data / 'dev.tsv').write_text('\n'.join(
      [lines[0]] + [t + '\t' + flipped[l] for t, l in (x.split('\t') for x in lines[1:])]) + '\n')
  config = tiny_config(data, steps=50)
  config.train.eval_every_steps = 10
  config.checkpoint.every_steps = 10
  config.checkpoint.max_to_keep = 2
  config.checkpoint.best_metric = 'loss'
  config.checkpoint.best_mode = 'min'
  workdir = tmp_path / 'run'
  train.train_and_evaluate(config, str(workdir))
  dev_loss = {r['step']: r['loss'] for r in _metrics(workdir) if r['split'] == 'dev'}
  assert sorted(dev_loss) == [10, 20, 30, 40, 50]
  best = min(dev_loss, key=dev_loss.get)
  assert best not in (40, 50), dev_loss  # The premise: the best is not one of the last two.
  assert _complete_steps(workdir / wd.CHECKPOINTS) == sorted([best, 40, 50])
  from textcls_jax.predict import Predictor
  for which, step in (('best', best), ('latest', 50)):
    predictor = Predictor.from_workdir(str(workdir), which)
    assert predictor.step == step, which
    saved = _saved_arrays(workdir, step)['state']['params']
    for x, y in zip(jax.tree.leaves(predictor._params), jax.tree.leaves(saved)):
      np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
  assert Predictor.from_workdir(str(workdir)).step == best  # 'best' is the default.
