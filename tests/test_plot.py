"""Plots: the confusion counts in metrics.jsonl, and figures whose lines are metrics.jsonl's numbers."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from textcls_jax import plot
from textcls_jax import tasks
from textcls_jax import workdir as wd

REPO = plot.__file__.rsplit('/textcls_jax/', 1)[0]


def test_dev_figures_carry_the_confusion_matrix_by_label_name():
  # Weighted counts (true, predicted): 3 'neg' right, 1 'neg' called 'pos', 2 'pos' right.
  sums = {'loss_sum': 1.0, 'count': 6.0, 'correct': 5.0,
          'confusion': np.array([[3.0, 1.0], [0.0, 2.0]])}
  figures = tasks.summarize_classification(sums, ['neg', 'pos'], per_class=True)
  assert {k: v for k, v in figures.items() if k.startswith('confusion/')} == {
      'confusion/neg/neg': 3.0, 'confusion/neg/pos': 1.0, 'confusion/pos/neg': 0.0,
      'confusion/pos/pos': 2.0}
  assert plot.confusion_matrix({'step': 1, **figures}, ['neg', 'pos']) == [[3.0, 1.0], [0.0, 2.0]]
  assert not any(k.startswith('confusion/') for k in tasks.summarize_classification(sums))


def _fake_run(folder, scale=1.0, mlm=False):
  """A workdir with a metrics.jsonl of known numbers (and labels.json for a classifier)."""
  folder.mkdir()
  rows = []
  for step in (10, 20, 30, 40):
    rows.append({'step': step, 'split': 'train', 'loss': scale / step, 'learning_rate': step * 1e-4,
                 ('perplexity' if mlm else 'accuracy'): 1 - 1 / step})
    if step % 20 == 0:
      dev = {'step': step, 'split': 'dev', 'loss': 2 * scale / step}
      if mlm:
        dev['perplexity'] = 100.0 / step
      else:
        dev.update({'accuracy': 0.5 + step / 100, 'confusion/neg/neg': float(step),
                    'confusion/neg/pos': 2.0, 'confusion/pos/neg': 1.0, 'confusion/pos/pos': 7.0})
      rows.append(dev)
  (folder / wd.METRICS).write_text(''.join(json.dumps(r) + '\n' for r in rows) + '{"step": 5')
  if not mlm:
    (folder / wd.LABELS).write_text(json.dumps({'names': ['neg', 'pos'], 'kind': 'str'}))
  return rows


@pytest.fixture
def drawn(monkeypatch):
  """Captures each figure plot.py saves: {file name: [(axes title, [line xy arrays]), ...]}."""
  captured = {}
  real = plot._save
  def capture(fig, path):
    captured[path.rsplit('/', 1)[-1]] = [
        (ax.get_title(), [line.get_xydata().tolist() for line in ax.lines],
         [image.get_array().tolist() for image in ax.images]) for ax in fig.axes]
    return real(fig, path)
  monkeypatch.setattr(plot, '_save', capture)
  return captured


def test_a_workdirs_plots_draw_its_metrics(tmp_path, drawn):
  rows = _fake_run(tmp_path / 'run')
  written = plot.plot_workdir(str(tmp_path / 'run'))
  assert written == [str(tmp_path / 'run' / 'plots' / n) for n in ('curves.png', 'confusion.png')]
  for path in written:
    assert Image.open(path).format == 'PNG'
  (loss_title, loss_lines, _), (acc_title, acc_lines, _), (lr_title, lr_lines, _) = drawn['curves.png']
  assert (loss_title, acc_title, lr_title) == ('loss', 'accuracy', 'learning rate')
  train = [r for r in rows if r['split'] == 'train']
  dev = [r for r in rows if r['split'] == 'dev']
  assert loss_lines == [[[r['step'], r['loss']] for r in train], [[r['step'], r['loss']] for r in dev]]
  assert acc_lines[1] == [[r['step'], r['accuracy']] for r in dev]
  assert lr_lines == [[[r['step'], r['learning_rate']] for r in train]]
  # The last dev evaluation's matrix, true labels down.
  (_, _, images), = drawn['confusion.png']
  assert images == [[[40.0, 2.0], [1.0, 7.0]]]


def test_an_mlm_workdir_gets_perplexity_and_no_confusion_matrix(tmp_path, drawn):
  _fake_run(tmp_path / 'mlm', mlm=True)
  assert plot.plot_workdir(str(tmp_path / 'mlm')) == [str(tmp_path / 'mlm' / 'plots' / 'curves.png')]
  assert drawn['curves.png'][1][0] == 'perplexity'


def test_the_command_compares_two_workdirs_in_one_figure(tmp_path):
  a, b = _fake_run(tmp_path / 'a'), _fake_run(tmp_path / 'b', scale=3.0)
  out = tmp_path / 'both.png'
  result = subprocess.run([sys.executable, '-m', 'textcls_jax.plot', str(tmp_path / 'a'),
                           str(tmp_path / 'b'), f'--out={out}'], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.splitlines()[-1] == str(out) and Image.open(out).format == 'PNG'
  assert (tmp_path / 'b' / 'plots' / 'curves.png').exists()
  del a, b


def test_the_comparison_lines_are_each_runs_metrics(tmp_path, drawn):
  runs = {name: _fake_run(tmp_path / name, scale=s) for name, s in (('a', 1.0), ('b', 3.0))}
  plot.plot_comparison([str(tmp_path / 'a'), str(tmp_path / 'b')], str(tmp_path / 'c.png'))
  (_, train_lines, _), (_, dev_lines, _), (title, quality_lines, _) = drawn['c.png']
  assert title == 'dev accuracy'
  for i, rows in enumerate(runs.values()):
    assert train_lines[i] == [[r['step'], r['loss']] for r in rows if r['split'] == 'train']
    assert dev_lines[i] == [[r['step'], r['loss']] for r in rows if r['split'] == 'dev']
    assert quality_lines[i] == [[r['step'], r['accuracy']] for r in rows if r['split'] == 'dev']


def test_a_folder_without_metrics_is_one_line(tmp_path):
  result = subprocess.run([sys.executable, '-m', 'textcls_jax.plot', str(tmp_path)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
  assert result.returncode == 1
  assert result.stderr.strip().splitlines() == [
      f'error: {tmp_path}/metrics.jsonl: no metrics yet (is {tmp_path} a textcls-jax workdir?)']
