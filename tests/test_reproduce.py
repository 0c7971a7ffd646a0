"""The reproduction runner: a config over its cross-validation folds and seeds, one workdir each,
into a results table; finished runs are read, not rerun, and a killed table resumes to the same
numbers."""

import json
import logging
import os
import signal
import subprocess
import sys
import time

import pytest

from textcls_jax import config_base
from textcls_jax import reproduce

from conftest import REPO

TINY = str(REPO / 'configs' / 'tiny.py')


def _overrides(data_dir):
  return {'data.source': f'tsv:{data_dir}/train.tsv', 'data.eval_split': '', 'data.cv_folds': 2,
          'tokenizer.vocab_size': 60, 'data.max_len': 16, 'train.batch_size': 16,
          'train.num_steps': 20, 'train.log_every_steps': 5, 'train.eval_every_steps': 10,
          'checkpoint.every_steps': 10, 'reproduce.reference': 'a paper 61.0'}


def _config(data_dir):
  config = config_base.config_file(TINY)
  config.update_from_flattened_dict(_overrides(data_dir))
  return config


def _numbers(row):
  """The table without its name, config path and timings (which differ from run to run)."""
  row = json.loads(json.dumps(row))
  for key in ('name', 'config', 'train_minutes'):
    row.pop(key)
  for run in row['runs']:
    run.pop('train_seconds')
  return row


def test_a_row_runs_every_fold_and_tabulates_dev_and_held_out_test(data_dir, tmp_path, caplog):
  work = tmp_path / 'row'
  row = reproduce.reproduce(_config(data_dir), 'configs/tiny.py', str(work),
                            results_dir=str(tmp_path / 'results'), command=['reproduce', 'tiny'])
  assert [r['run'] for r in row['runs']] == ['fold0-seed0', 'fold1-seed0']
  for r in row['runs']:
    assert r['steps'] == 20 and r['checkpoint_step'] in (10, 20)
    assert 0 <= r['dev_accuracy'] <= 1 and 0 <= r['test_accuracy'] <= 1
  tests = [r['test_accuracy'] for r in row['runs']]
  assert row['test_accuracy']['mean'] == pytest.approx(sum(tests) / 2)
  assert row['test_accuracy']['n'] == 2
  assert json.loads((work / 'results.json').read_text()) == json.loads(json.dumps(row))
  table = (work / 'results.md').read_text()
  assert '| fold1-seed0 | 1 | 0 | 20 |' in table and 'test ' in table
  assert 'Read against: a paper 61.0.' in table
  # The finished row is recorded as data for the docs' tables, with where it came from.
  from textcls_jax import results
  [recorded] = results.load_all(str(tmp_path))
  assert recorded['_path'] == os.path.join('results', 'tiny', 'default.json')
  assert recorded['kind'] == 'reproduce' and recorded['name'] == 'default'
  assert recorded['test_accuracy'] == row['test_accuracy'] and recorded['runs'] == row['runs']
  assert recorded['command'] == 'reproduce tiny' and recorded['machine'] and recorded['date']
  page = results.reproduction_page([recorded], str(tmp_path))
  assert f"| default | {row['model']} | 2 folds | {results.pct(row['test_accuracy'])} |" in page
  # The test figure is the checkpoint dev chose, evaluated on the held-out fold.
  from textcls_jax.data import prepare
  from textcls_jax.predict import Predictor
  for r in row['runs']:
    _, _, test = prepare.load_splits(reproduce.run_config(_config(data_dir), r['fold'], 0).data)
    predictor = Predictor.from_workdir(str(work / r['run']), checkpoint=r['checkpoint_step'])
    got = [p['label'] for p in predictor.predict(test.texts)]
    assert r['test_accuracy'] == pytest.approx(
        sum(g == t for g, t in zip(got, test.labels)) / len(test))
  # Run again: every run is read, none retrained, and the table is the same.
  caplog.set_level(logging.INFO)
  caplog.clear()
  again = reproduce.reproduce(_config(data_dir), 'configs/tiny.py', str(work))
  assert again == row
  assert sum('finished, read' in m for m in caplog.messages) == 2
  # One table of several rows.
  text = reproduce.gather([str(work), str(work)], str(tmp_path / 'all.md'))
  assert text.startswith('| row | config |') and text.count('`configs/tiny.py`') == 2
  assert '2 folds' in text and '| a paper 61.0 |' in text


def test_a_row_may_run_some_of_its_folds_and_its_table_says_so(data_dir):
  config = _config(data_dir)
  config.data.cv_folds = 10
  config.reproduce.folds = (0, 1, 2)
  config.reproduce.seeds = (0, 1)
  assert [n for n, _, _ in reproduce.run_names(config)] == [
      f'fold{k}-seed{s}' for k in (0, 1, 2) for s in (0, 1)]
  runs = [{'fold': k, 'seed': s, 'dev_accuracy': 0.5, 'test_accuracy': 0.5, 'train_seconds': 60}
          for _, k, s in reproduce.run_names(config)]
  text = reproduce.rows_markdown([reproduce.row_table('r', 'configs/tiny.py', config, runs)])
  assert '| 3 of 10 folds x 2 seeds |' in text
  config.reproduce.folds = ()
  assert len(reproduce.run_names(config)) == 20


def test_an_init_from_per_fold_names_each_runs_fold_and_is_refused_without_folds(data_dir,
                                                                                  tmp_path):
  from textcls_jax import config_checks
  config = _config(data_dir)
  config.init_from = str(tmp_path / 'tapt' / 'fold{fold}')
  assert [reproduce.run_config(config, k, 0).init_from for k in (0, 1)] == [
      str(tmp_path / 'tapt' / 'fold0'), str(tmp_path / 'tapt' / 'fold1')]
  assert config.init_from.endswith('fold{fold}')  # The row's own config is left as it was.
  config.data.cv_folds = 0
  config.data.test_fraction = 0.2
  with pytest.raises(config_checks.ConfigError,
                     match=r"^init_from='.*fold\{fold\}' is not allowed: it must be a workdir; "
                           r"'\{fold\}' is filled in only by textcls_jax.reproduce"):
    reproduce.reproduce(config, 'configs/tiny.py', str(tmp_path / 'row'))
  assert not (tmp_path / 'row').exists()


def test_reproduce_refuses_a_config_without_a_test_split(data_dir, tmp_path):
  config = _config(data_dir)
  config.data.cv_folds = 0
  from textcls_jax import config_checks
  with pytest.raises(config_checks.ConfigError, match='needs a test split'):
    reproduce.reproduce(config, 'configs/tiny.py', str(tmp_path / 'row'))
  assert not (tmp_path / 'row').exists()


def test_a_table_killed_mid_run_resumes_to_the_same_numbers(data_dir, tmp_path):
  reference = reproduce.reproduce(_config(data_dir), 'configs/tiny.py', str(tmp_path / 'whole'))
  work = tmp_path / 'killed'
  command = [sys.executable, '-m', 'textcls_jax.reproduce', f'--config={TINY}',
             f'--workdir={work}', f'--results_dir={tmp_path / "results"}'] + [
                 f'--config.{k}={v}' for k, v in _overrides(data_dir).items()]
  proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
  second = work / 'fold1-seed0' / 'checkpoints'
  deadline = time.time() + 300
  while not (second.exists() and any(n.isdigit() for n in os.listdir(second))):
    assert proc.poll() is None, proc.stdout.read()[-3000:]
    assert time.time() < deadline, 'the second run never saved a checkpoint'
    time.sleep(0.005)
  proc.send_signal(signal.SIGKILL)  # In the middle of the second run.
  proc.communicate(timeout=60)
  assert not (work / 'results.json').exists()
  done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
  assert done.returncode == 0, done.stderr[-3000:]
  assert 'fold0-seed0: finished, read' in done.stderr
  assert 'Resuming from step' in done.stderr
  resumed = json.loads((work / 'results.json').read_text())
  assert _numbers(resumed) == _numbers(reference)
  assert '| fold0-seed0 |' in done.stdout  # The row's table on stdout.
  recorded = json.loads((tmp_path / 'results' / 'tiny' / 'default.json').read_text())
  assert recorded['test_accuracy'] == resumed['test_accuracy']
  assert recorded['command'].startswith('python -m textcls_jax.reproduce --config=')

