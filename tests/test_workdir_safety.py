"""A workdir that no mistaken re-run can damage.

A re-run whose config changes what the saved state means is refused before anything is read,
moved or written; a checkpoint that does not fit, or cannot be read for a reason that is not its
content, is never set aside; a workdir that has held checkpoints never silently starts again.
"""

import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from textcls_jax import checkpoint as ckpt_lib
from textcls_jax import config_checks
from textcls_jax import train
from textcls_jax import workdir as wd

from test_train import _metrics, tiny_config

REPO = pathlib.Path(__file__).resolve().parents[1]


def snapshot(workdir) -> dict:
  """Every file under workdir -> the sha256 of its bytes."""
  root = pathlib.Path(workdir)
  return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
          for p in sorted(root.rglob('*')) if p.is_file()}


def _steps(workdir) -> list[int]:
  return sorted(int(n) for n in os.listdir(pathlib.Path(workdir) / wd.CHECKPOINTS) if n.isdigit())


# --- The sequence a new user ran into, on the real command line.

def _cli(module, *args, timeout=300):
  return subprocess.run([sys.executable, '-m', module, *args], cwd=REPO, capture_output=True,
                        text=True, timeout=timeout)


def test_a_rerun_with_another_model_size_is_refused_and_the_run_survives(data_dir, tmp_path):
  workdir = tmp_path / 'run'
  command = ['--config=configs/tiny.py', f'--workdir={workdir}',
             f'--config.data.source=tsv:{data_dir}', '--config.tokenizer.vocab_size=60', '--config.data.max_len=16',
             '--config.train.num_steps=40', '--config.train.batch_size=16',
             '--config.train.log_every_steps=10', '--config.train.eval_every_steps=20',
             '--config.checkpoint.every_steps=20', '--config.optim.learning_rate=0.01',
             '--config.optim.warmup_steps=5']
  first = _cli('textcls_jax.main', *command)
  assert first.returncode == 0, first.stderr[-3000:]
  before = snapshot(workdir)

  refused = _cli('textcls_jax.main', *command, '--config.model.num_filters=32')
  assert refused.returncode == 1
  last = refused.stderr.strip().splitlines()[-1]
  assert last.startswith(f'error: {workdir} was trained with another config '
                         '(model.num_filters: 16 -> 32; saved -> new)'), refused.stderr[-3000:]
  assert 'Traceback' not in refused.stderr
  assert snapshot(workdir) == before  # Every file byte-identical, the lock included.
  assert not (workdir / ckpt_lib.CORRUPT_DIR).exists()

  predicted = subprocess.run(
      [sys.executable, '-m', 'textcls_jax.predict', f'--workdir={workdir}'], input='lovely story\n',
      cwd=REPO, capture_output=True, text=True, timeout=300)
  assert predicted.returncode == 0, predicted.stderr[-3000:]
  assert json.loads(predicted.stdout)['label'] == 'pos'

  again = _cli('textcls_jax.main', *command)  # The original command: resumes at its last step.
  assert again.returncode == 0, again.stderr[-3000:]
  assert 'Resuming from step 40' in again.stderr
  assert 'Training already finished at step 40' in again.stderr


# --- Each kind of refused change, in process.

@pytest.fixture(scope='module')
def finished(data_dir, tmp_path_factory):
  """A finished 40-step tiny CNN run (checkpoints 20 and 40) and its config."""
  config = tiny_config(data_dir, steps=40)
  workdir = tmp_path_factory.mktemp('finished') / 'run'
  train.train_and_evaluate(config, str(workdir))
  return workdir, config


def _copy(finished, tmp_path):
  workdir = tmp_path / 'run'
  shutil.copytree(finished[0], workdir)
  return workdir, finished[1].copy_and_resolve_references()


def _other_data(tmp_path):
  from conftest import write_sentiment_tsv
  other = tmp_path / 'other'
  other.mkdir()
  write_sentiment_tsv(other / 'train.tsv', 100, seed=5)
  write_sentiment_tsv(other / 'dev.tsv', 20, seed=6)
  return f'tsv:{other}'


def _mlm(config, tmp_path):
  corpus = tmp_path / 'corpus.txt'
  corpus.write_text('good film\nbad plot\n')
  config.task = 'mlm'
  config.data.corpus_sources = (f'text:{corpus}',)
  config.checkpoint.best_metric = 'loss'


REFUSED = {
    'model': (lambda c, t: c.model.update(num_filters=32), 'model.num_filters: 16 -> 32'),
    'tokenizer': (lambda c, t: c.tokenizer.update(vocab_size=80), 'tokenizer.vocab_size: 60 -> 80'),
    'data source': (lambda c, t: c.data.update(source=_other_data(t)), 'data.source: '),
    'label field': (lambda c, t: c.data.update(label_field='sentiment'),
                    "data.label_field: 'label' -> 'sentiment'"),
    'task': (_mlm, "task: 'classify' -> 'mlm'"),
    'batch size': (lambda c, t: c.train.update(batch_size=32), 'train.batch_size: 16 -> 32'),
    'seed': (lambda c, t: c.update(seed=3), 'seed: 0 -> 3'),
}


@pytest.mark.parametrize('change', REFUSED)
def test_a_change_to_what_the_state_means_is_refused_and_touches_nothing(finished, tmp_path,
                                                                         change):
  workdir, config = finished
  before = snapshot(workdir)
  edit, named = REFUSED[change]
  config = config.copy_and_resolve_references()
  edit(config, tmp_path)
  with pytest.raises(config_checks.ConfigError, match='was trained with another config') as e:
    train.train_and_evaluate(config, str(workdir))
  assert named in str(e.value) and '--config.init_from=' in str(e.value)
  assert snapshot(workdir) == before


def test_extending_a_finished_run_trains_exactly_the_extra_steps(finished, tmp_path, caplog,
                                                                 train_step_calls):
  workdir, config = _copy(finished, tmp_path)
  config.train.num_steps = 60
  config.train.log_every_steps = 5
  config.checkpoint.max_to_keep = 3
  with caplog.at_level('INFO'):
    train.train_and_evaluate(config, str(workdir))
  assert len(train_step_calls) == 20
  assert 'Resuming from step 40' in caplog.text
  assert ('Resuming with changed settings: checkpoint.max_to_keep: 2 -> 3; '
          'train.log_every_steps: 10 -> 5; train.num_steps: 40 -> 60') in caplog.text
  rows = [r['step'] for r in _metrics(workdir) if r['split'] == 'train']
  assert rows == [10, 20, 30, 40, 45, 50, 55, 60]  # Each step logged once: none trained twice.
  assert _steps(workdir)[-1] == 60
  assert wd.read_json(workdir / wd.CONFIG)['train']['num_steps'] == 60  # Saved once restored.


def test_a_checkpoint_that_does_not_fit_stops_the_run_and_is_never_moved(finished, tmp_path):
  """config.json rewritten with another model size (as an older version did on a re-run): the
  config check passes, the restore finds the misfit, and nothing is moved or written."""
  workdir, config = _copy(finished, tmp_path)
  saved = wd.read_json(workdir / wd.CONFIG)
  saved['model']['num_filters'] = 32
  wd.write_json(workdir / wd.CONFIG, saved)
  config.model.num_filters = 32
  before = snapshot(workdir)
  with pytest.raises(ckpt_lib.CheckpointMismatchError,
                     match=r'checkpoints/40 does not fit the state this config builds \(state\.'
                     r'.*stored float32\[.*16\], here float32\[.*32\].*Nothing was moved'):
    train.train_and_evaluate(config, str(workdir))
  assert _steps(workdir) == [20, 40]
  assert not (workdir / ckpt_lib.CORRUPT_DIR).exists()
  after = snapshot(workdir)
  assert {k: v for k, v in after.items() if k != '.lock'} == {
      k: v for k, v in before.items() if k != '.lock'}


def test_a_workdir_whose_checkpoints_were_all_set_aside_does_not_start_over(finished, tmp_path):
  workdir, config = _copy(finished, tmp_path)
  aside = workdir / ckpt_lib.CORRUPT_DIR
  aside.mkdir()
  for step in _steps(workdir):  # What an older version's fallback did to a misfit.
    shutil.move(workdir / wd.CHECKPOINTS / str(step), aside / f'{step}-20261130-120000')
  before = snapshot(workdir)
  with pytest.raises(ckpt_lib.CheckpointCorruptError, match='has trained before, so it is not '
                     'started again from scratch'):
    train.train_and_evaluate(config, str(workdir))
  assert {k: v for k, v in snapshot(workdir).items() if k != '.lock'} == {
      k: v for k, v in before.items() if k != '.lock'}


# --- A checkpoint that cannot be read for a reason that is not its content.

def _without_permission_override():
  """(command prefix, why-not) to run a command that file permissions apply to.

  Root reads any file (CAP_DAC_OVERRIDE); setpriv runs the command as root without that power.
  """
  if os.geteuid() != 0:
    return [], None
  if shutil.which('setpriv') is None:
    return None, 'running as root (which ignores permissions) without setpriv to drop that'
  return ['setpriv', '--bounding-set=-dac_override,-dac_read_search'], None


def test_a_checkpoint_unreadable_for_permissions_stops_the_run_and_is_not_moved(data_dir,
                                                                                tmp_path):
  prefix, why_not = _without_permission_override()
  if why_not:
    pytest.skip(why_not)
  workdir = tmp_path / 'run'
  config = tiny_config(data_dir, steps=40)
  train.train_and_evaluate(config, str(workdir))
  unreadable = [p for p in (workdir / wd.CHECKPOINTS / '40' / 'state').rglob('*')
                if p.is_file() and p.parent.name == 'd']  # The array data, not the metadata.
  assert unreadable
  for path in unreadable:
    path.chmod(0)
  before = snapshot(workdir)
  args = [f'--config.{k}={v}' for k, v in config_checks.flatten(config.to_dict()).items()
          if k in ('data.source', 'tokenizer.vocab_size', 'data.max_len', 'train.num_steps',
                   'train.batch_size', 'train.log_every_steps', 'train.eval_every_steps',
                   'checkpoint.every_steps', 'optim.learning_rate', 'optim.warmup_steps')]
  result = subprocess.run(
      prefix + [sys.executable, '-m', 'textcls_jax.main', '--config=configs/tiny.py',
                f'--workdir={workdir}', *args],
      cwd=REPO, capture_output=True, text=True, timeout=300)
  assert result.returncode == 1, result.stderr[-3000:]
  last = result.stderr.strip().splitlines()[-1]
  assert 'checkpoints/40 cannot be read, for a reason that is not its content' in last, last
  assert 'PermissionError' in last and 'it was not moved' in last
  assert _steps(workdir) == [20, 40]
  assert not (workdir / ckpt_lib.CORRUPT_DIR).exists()
  assert {k: v for k, v in snapshot(workdir).items() if k != '.lock'} == {
      k: v for k, v in before.items() if k != '.lock'}


# --- What a resumed run writes, and when.

def test_config_json_is_rewritten_only_after_the_state_is_restored(finished, tmp_path):
  """A change a resumed run may make (train.num_steps) is saved with the run, so an early rewrite
  would show: with every checkpoint damaged the restore fails, and config.json must be untouched."""
  from test_reliability import _flip_bytes
  workdir, config = _copy(finished, tmp_path)
  before = (workdir / wd.CONFIG).read_bytes()
  for step in _steps(workdir):
    _flip_bytes(workdir / wd.CHECKPOINTS / str(step))
  config.train.num_steps = 60
  with pytest.raises(ckpt_lib.CheckpointCorruptError, match='no checkpoint could be restored'):
    train.train_and_evaluate(config, str(workdir))
  assert (workdir / wd.CONFIG).read_bytes() == before
  assert wd.read_json(workdir / wd.CONFIG)['train']['num_steps'] == 40


def test_a_resumed_run_never_trains_its_tokenizer_again(finished, tmp_path, monkeypatch):
  """Training a tokenizer is deterministic, so a retrained one would have the same bytes: what
  shows is the call (refused here) and a file written again (another inode or time)."""
  from textcls_jax.data import tokenizer as tok
  workdir, config = _copy(finished, tmp_path)
  def files():
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes())
            for p in (workdir / wd.TOKENIZER_DIR).iterdir()}
  before = files()
  def trained_again(*args, **kwargs):
    raise AssertionError('a resumed run trained its tokenizer again')
  monkeypatch.setattr(tok, 'train_sentencepiece', trained_again)
  config.train.num_steps = 60
  train.train_and_evaluate(config, str(workdir))
  assert _steps(workdir)[-1] == 60
  assert files() == before
