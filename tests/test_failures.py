"""Failures a user can meet, run from the command line: exit status 1, no traceback, one line that
names the file, key or checkpoint and the next step, and nothing lost (the workdir's last complete
checkpoint restores afterwards). `--verbose` (or TEXTCLS_VERBOSE=1) brings the traceback back.

A full disk and a read-only filesystem are real: a small tmpfs mounted in a private mount namespace
(`unshare`), where the system allows one; the tests say why they skip where it does not.
"""

import errno
import json
import os
import pathlib
import shlex
import shutil
import subprocess
import sys
import textwrap
import time

import pytest

from textcls_jax import failures
from textcls_jax import workdir as wd

from test_reliability import _flip_bytes

REPO = pathlib.Path(__file__).resolve().parents[1]


def cli(module, *args, env=None, timeout=300):
  return subprocess.run([sys.executable, '-m', f'textcls_jax.{module}', *args], cwd=REPO,
                        capture_output=True, text=True, timeout=timeout,
                        env={**os.environ, **(env or {})})


def error_line(result) -> str:
  """The one line a failed command ends with, after checking it is the only sign of the error."""
  assert result.returncode == 1, (result.returncode, result.stderr[-3000:])
  assert 'Traceback' not in result.stderr, result.stderr[-3000:]
  lines = result.stderr.strip().splitlines()
  assert lines[-1].startswith('error: '), result.stderr[-3000:]
  assert sum(line.startswith('error: ') for line in lines) == 1, result.stderr[-3000:]
  return lines[-1]


def tiny_args(data_dir, workdir, steps):
  return ['--config=configs/tiny.py', f'--workdir={workdir}',
          f'--config.data.source=tsv:{data_dir}',
          '--config.tokenizer.vocab_size=60', '--config.data.max_len=16',
          f'--config.train.num_steps={steps}', '--config.train.batch_size=16',
          '--config.train.log_every_steps=10', '--config.train.eval_every_steps=20',
          '--config.checkpoint.every_steps=20']


def steps_of(workdir) -> list[int]:
  folder = pathlib.Path(workdir) / wd.CHECKPOINTS
  return sorted(int(n) for n in os.listdir(folder) if n.isdigit())


# --- The classification of errors, in process.

def _raised(error, cause=None):
  try:
    try:
      raise cause
    except BaseException:
      raise error
  except BaseException as e:  # noqa: BLE001
    return e


@pytest.mark.parametrize('error,expected', [
    (OSError(errno.ENOSPC, 'No space left on device', '/w/metrics.jsonl'),
     '/w/metrics.jsonl could not be written: no space left on the device (No space left on '
     'device)'),
    (ValueError('RESOURCE_EXHAUSTED: Error writing local file "/w/checkpoints/200.orbax-checkpoint-'
                'tmp/state/d/x": [OS error: No space left on device]'),
     'checkpoint 200 was not written to /w/checkpoints: no space left on the device (No space '
     'left on device)'),
    (RuntimeError('{{function_node __wrapped__WriteSummary_device_/job:localhost/replica:0}} '
                  '/w/tensorboard/events.out.tfevents.1.v2; No space left on device'),
     '/w/tensorboard/events.out.tfevents.1.v2 could not be written: no space left on the device'),
    (OSError(errno.EROFS, 'Read-only file system', '/w/.lock'),
     '/w/.lock could not be written: Read-only file system. Make it writable'),
    (PermissionError(errno.EACCES, 'Permission denied', '/w/plots/curves.png'),
     '/w/plots/curves.png: permission denied (Permission denied). Give the command access'),
    (FileNotFoundError(errno.ENOENT, 'No such file or directory', '/elsewhere/in.txt'),
     '/elsewhere/in.txt does not exist (No such file or directory): check the path'),
    (RuntimeError('RESOURCE_EXHAUSTED: Out of memory while trying to allocate 1.2GiB'),
     'out of memory (Out of memory). Lower train.batch_size'),
])
def test_a_storage_or_memory_fault_is_one_line_saying_what_to_do(error, expected):
  assert expected in failures.one_line(error)
  wrapped = _raised(RuntimeError('while saving'), error)  # Found in the chain too.
  assert expected in failures.one_line(wrapped)


def test_a_vanished_workdir_and_a_project_error_and_a_bug(tmp_path):
  gone = OSError(errno.ENOENT, 'No such file or directory', str(tmp_path / 'run' / 'metrics.jsonl'))
  assert 'was the workdir moved or deleted while the run ran?' in failures.one_line(
      gone, str(tmp_path / 'run'))
  assert failures.one_line(failures.UserError('a\nb')) == 'a b'
  assert failures.one_line(KeyError('params')) is None  # A bug: its traceback is shown.
  assert failures.one_line(ValueError('shapes do not match')) is None


def test_the_line_names_the_checkpoint_a_rerun_resumes_from(tmp_path):
  for step in ('20', '40', '60.orbax-checkpoint-tmp'):
    (tmp_path / wd.CHECKPOINTS / step).mkdir(parents=True)
  line = failures.one_line(OSError(errno.ENOSPC, 'No space left on device'), str(tmp_path))
  assert line.endswith('; it resumes from checkpoint 40, the last complete one')


# --- Config files, on the command line (before JAX is imported: fast).

CONFIGS = {
    'missing': (None, 'config file {path} not found'),
    'syntax': ('def get_config(:\n  pass\n', '{path}, line 1: '),
    'no_get_config': ('CONFIG = {}\n', '{path} defines no get_config()'),
    'raises': ('import ml_collections\n\ndef get_config():\n  c = ml_collections.ConfigDict()\n'
               '  return c.nope.more\n', "{path}, line 5: AttributeError: "),
    'not_a_config': ('def get_config():\n  return {"a": 1}\n',
                     '{path}: get_config() returned dict, not an ml_collections.ConfigDict'),
}


@pytest.mark.parametrize('case', CONFIGS)
def test_a_config_file_that_cannot_be_used_is_one_line_naming_file_and_line(tmp_path, case):
  content, expected = CONFIGS[case]
  path = tmp_path / f'{case}.py'
  if content is not None:
    path.write_text(content)
  result = cli('main', f'--config={path}', f'--workdir={tmp_path / "run"}')
  assert expected.format(path=path) in error_line(result)
  assert not (tmp_path / 'run').exists()  # Nothing written.
  if case == 'raises':  # The traceback, for a bug report.
    for verbose in (['--verbose'], []):
      again = cli('main', f'--config={path}', f'--workdir={tmp_path / "run"}', *verbose,
                  env={} if verbose else {failures.VERBOSE_ENV: '1'})
      assert again.returncode == 1 and 'Traceback' in again.stderr, again.stderr[-2000:]


# --- A trained workdir: predict and training against damaged or unusable storage.

@pytest.fixture(scope='module')
def trained(data_dir, tmp_path_factory):
  """A tiny CNN workdir with checkpoints at 20 and 40, trained on the command line."""
  workdir = tmp_path_factory.mktemp('trained') / 'run'
  result = cli('main', *tiny_args(data_dir, workdir, 40))
  assert result.returncode == 0, result.stderr[-3000:]
  return workdir


def _copy(trained, tmp_path):
  workdir = tmp_path / 'run'
  shutil.copytree(trained, workdir, ignore=shutil.ignore_patterns('.lock'))
  return workdir


def test_predict_on_a_corrupt_checkpoint_is_one_line_and_the_older_one_still_serves(trained,
                                                                                    tmp_path):
  workdir = _copy(trained, tmp_path)
  _flip_bytes(workdir / wd.CHECKPOINTS / '40')
  texts = tmp_path / 'texts.txt'
  texts.write_text('good great film\n')
  line = error_line(cli('predict', f'--workdir={workdir}', '--checkpoint=latest',
                        f'--input={texts}'))
  assert 'checkpoints/40' in line and 'do not match the checksum' in line, line
  served = cli('predict', f'--workdir={workdir}', '--checkpoint=20', f'--input={texts}')
  assert served.returncode == 0, served.stderr[-3000:]
  assert json.loads(served.stdout)['label'] in ('pos', 'neg')


def test_predict_on_what_it_cannot_serve_is_one_line_saying_why(trained, tmp_path):
  """On the command line: a folder that is not a workdir, and a pretraining workdir (which gave a
  traceback before); in process (the same errors, so the same lines): checkpoints it lacks."""
  from textcls_jax import predict
  from textcls_jax.data import sources
  texts = tmp_path / 'texts.txt'
  texts.write_text('good great film\n')
  not_a_workdir = tmp_path / 'empty'
  not_a_workdir.mkdir()
  line = error_line(cli('predict', f'--workdir={not_a_workdir}', f'--input={texts}'))
  assert f'{not_a_workdir} is not a textcls-jax workdir' in line
  mlm = tmp_path / 'mlm'
  shutil.copytree(trained, mlm, ignore=shutil.ignore_patterns('.lock', 'checkpoints*'))
  config = wd.read_json(mlm / wd.CONFIG)
  config['task'] = 'mlm'
  (mlm / wd.CONFIG).write_text(json.dumps(config))
  line = error_line(cli('predict', f'--workdir={mlm}', f'--input={texts}'))
  assert "was trained for 'mlm' (pretraining), not classification" in line
  assert f'init_from={mlm}' in line
  for checkpoint, said in (('30', 'has no checkpoint 30 (it has [20, 40])'),
                           ('newest', "has no checkpoint newest (it has [20, 40]): give "
                                      "--checkpoint='best', 'latest'")):
    with pytest.raises(predict.NotServableError) as e:
      predict.restore(str(trained), checkpoint)
    assert said in failures.one_line(e.value)
  with pytest.raises(FileNotFoundError) as e:  # --input: read by sources.read_local_file.
    list(sources.read_local_file('text', str(tmp_path / 'nope.txt'), '', ''))
  assert f'{tmp_path / "nope.txt"} does not exist' in failures.one_line(e.value)


def test_a_corrupt_checkpoint_that_cannot_be_set_aside_is_one_line_and_moves_nothing(
    trained, data_dir, tmp_path):
  workdir = _copy(trained, tmp_path)
  _flip_bytes(workdir / wd.CHECKPOINTS / '40')
  blocker = workdir / 'checkpoints_corrupt'
  blocker.write_text('a file where the folder of set-aside checkpoints would go\n')
  args = tiny_args(data_dir, workdir, 60)
  line = error_line(cli('main', *args))
  assert 'checkpoints/40 is corrupt, and setting it aside' in line and 'failed' in line, line
  assert steps_of(workdir) == [20, 40]  # Nothing moved, nothing written.
  blocker.unlink()
  result = cli('main', *args)  # The same command, once the way is clear: from checkpoint 20.
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'Resuming from step 20' in result.stderr
  assert steps_of(workdir)[-1] == 60


def test_a_workdir_moved_away_while_the_run_runs_is_one_line_and_resumes_where_it_went(
    data_dir, tmp_path):
  workdir, moved = tmp_path / 'run', tmp_path / 'moved'
  args = tiny_args(data_dir, workdir, 5000)
  proc = subprocess.Popen([sys.executable, '-m', 'textcls_jax.main', *args], cwd=REPO,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
  deadline = time.time() + 300
  while not (workdir / wd.CHECKPOINTS).exists() or not steps_of(workdir):
    assert proc.poll() is None and time.time() < deadline, proc.stderr.read()[-3000:]
    time.sleep(0.05)
  workdir.rename(moved)
  _, err = proc.communicate(timeout=300)
  line = error_line(subprocess.CompletedProcess([], proc.returncode, '', err))
  assert f'workdir {workdir} was deleted or moved while the run ran' in line, line
  # A save in flight at the move may finish into a folder Orbax makes again at the old path (seen:
  # checkpoint 40 complete there); the run goes no further than that one save.
  if (workdir / wd.CHECKPOINTS).exists():
    assert max(steps_of(workdir), default=0) <= steps_of(moved)[-1] + 20, steps_of(workdir)
  resumed = cli('main', *tiny_args(data_dir, moved, steps_of(moved)[-1] + 20))
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  assert 'Resuming from step' in resumed.stderr


# --- A full disk and a read-only filesystem: a real tmpfs in a private mount namespace.

def _namespace_why_not():
  if shutil.which('unshare') is None:
    return 'no unshare command'
  probe = subprocess.run(['unshare', '-rm', 'sh', '-c', 'mount -t tmpfs -o size=1m tmpfs /mnt'],
                         capture_output=True, text=True)
  if probe.returncode:
    return f'this system allows no private tmpfs mount (unshare -rm: {probe.stderr.strip()})'
  return None


needs_tmpfs = pytest.mark.skipif(bool(_namespace_why_not()), reason=str(_namespace_why_not()))


def _in_tmpfs(tmp_path, script: str, size_mb: int = 64) -> None:
  """Runs `script` (bash) in a private mount namespace with a fresh tmpfs of size_mb at $MNT and
  the repository as the working directory; $PY is this Python, $OUT is tmp_path."""
  mnt = tmp_path / 'mnt'
  mnt.mkdir()
  body = textwrap.dedent(f"""\
      set -u
      export MNT={shlex.quote(str(mnt))} OUT={shlex.quote(str(tmp_path))}
      export PY={shlex.quote(sys.executable)}
      mount -t tmpfs -o size={size_mb}m tmpfs "$MNT"
      """) + textwrap.dedent(script)
  result = subprocess.run(['unshare', '-rm', 'bash', '-c', body], cwd=REPO, capture_output=True,
                          text=True, timeout=900)
  assert result.returncode == 0, result.stderr[-3000:]


def _run(name, args):
  """A bash line running the training CLI with `args`, its output in $OUT/<name>.log and .rc."""
  quoted = ' '.join(shlex.quote(a) for a in args)
  return (f'$PY -m textcls_jax.main {quoted} > "$OUT/{name}.log" 2>&1; '
          f'echo $? > "$OUT/{name}.rc"\n')


def _result(tmp_path, name):
  return subprocess.CompletedProcess([], int((tmp_path / f'{name}.rc').read_text()), '',
                                     (tmp_path / f'{name}.log').read_text())


def _fill(free_kb: int) -> str:
  """A bash line filling the tmpfs at $MNT to within free_kb of full."""
  code = ('import os, sys; s = os.statvfs(sys.argv[1]); f = open(sys.argv[1] + "/filler", "wb"); '
          f'f.write(bytes(max(0, s.f_bavail * s.f_frsize - {free_kb} * 1024)))')
  return f'$PY -c {shlex.quote(code)} "$MNT"\n'


@needs_tmpfs
def test_a_full_disk_or_a_read_only_one_is_one_line_and_the_same_command_then_resumes(
    data_dir, tmp_path):
  """One workdir on a 64 MB tmpfs: trained to 40 steps; then, asked for 80, it meets a disk with no
  space at all (a new run's first write, and the resumed run's), a disk with room for the metrics
  but not for a checkpoint (about 200 KB here), and a read-only filesystem; each is one line, and
  once space is freed and the filesystem writable the same command resumes and finishes."""
  workdir, fresh = tmp_path / 'mnt' / 'run', tmp_path / 'mnt' / 'fresh'
  longer = tiny_args(data_dir, workdir, 80)
  ls = f'ls {workdir / wd.CHECKPOINTS} > "$OUT/%s.txt"\n'
  _in_tmpfs(tmp_path, _run('first', tiny_args(data_dir, workdir, 40))
            + _fill(0) + _run('fresh', tiny_args(data_dir, fresh, 40)) + _run('no_space', longer)
            + 'rm "$MNT/filler"\n' + _fill(60) + _run('no_room', longer) + ls % 'after_no_room'
            + 'rm "$MNT/filler"\n'
            + 'mount -o remount,ro "$MNT"\n' + _run('read_only', longer)
            + 'mount -o remount,rw "$MNT"\n' + _run('resumed', longer) + ls % 'after_resumed')
  first = _result(tmp_path, 'first')
  assert first.returncode == 0, first.stderr[-3000:]
  line = error_line(_result(tmp_path, 'fresh'))
  assert f'{fresh}' in line and 'no space left on the device' in line, line
  line = error_line(_result(tmp_path, 'no_space'))
  assert f'{workdir}' in line and 'no space left on the device' in line, line
  assert line.endswith('run the same command again; it resumes from checkpoint 40, the last '
                       'complete one'), line
  # The step-60 save fills the disk in a background thread, so whichever write fails first is
  # reported: the checkpoint ('checkpoint 60 was not written to ...'), or under load the metrics or
  # TensorBoard's events written meanwhile; either way one line, and checkpoint 40 intact.
  line = error_line(_result(tmp_path, 'no_room'))
  assert f'{workdir}/' in line and 'could not be written: no space left on the device' in line or (
      f'checkpoint 60 was not written to {workdir / wd.CHECKPOINTS}: no space left' in line), line
  assert line.endswith('it resumes from checkpoint 40, the last complete one'), line
  complete = [int(n) for n in (tmp_path / 'after_no_room.txt').read_text().split() if n.isdigit()]
  assert max(complete) == 40, complete
  line = error_line(_result(tmp_path, 'read_only'))
  assert 'Read-only file system' in line and 'Make it writable' in line, line
  resumed = _result(tmp_path, 'resumed')
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  assert 'Resuming from step 40' in resumed.stderr
  assert '80' in (tmp_path / 'after_resumed.txt').read_text().split()
