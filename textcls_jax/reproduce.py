"""Runs one config over its cross-validation folds and seeds, one workdir each, and writes the row's
results table; or gathers several rows into one table.

  python -m textcls_jax.reproduce --config=configs/kim_mr.py --workdir=runs/kim/mr [--config.a.b=v]
  python -m textcls_jax.reproduce --rows=runs/kim/mr,runs/kim/sst5 --out=results.md

The runs: every fold of `data.cv_folds` (or the config's one split) times every seed of
`reproduce.seeds`, in WORKDIR/fold{k}-seed{s} (WORKDIR/seed{s} without folds). A finished run is
read, not run again; an interrupted one resumes where it stopped (the workdirs resume exactly), so
re-running the command after a kill completes the same table. Each run reports its dev accuracy
at the checkpoint dev chose and the test accuracy of that checkpoint, on the held-out fold or
`data.test_fraction` split, which no decision looks at. WORKDIR/results.json and results.md hold
each run and the mean +- standard deviation over the runs, and the finished row is recorded, with
its command, commit, date and machine, as results/<config stem>/<variant>.json (--results_dir),
the data that `python -m textcls_jax.results` makes the docs' tables from.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Optional, Sequence

from absl import app
from absl import flags
from absl import logging

from textcls_jax import config_checks  # Neither JAX nor TensorFlow: a bad value is refused fast.
from textcls_jax import failures

_CONFIG = config_checks.define_config_flag('The row\'s config file (configs/*.py[:VARIANT]).')
_WORKDIR = flags.DEFINE_string('workdir', None, 'The row\'s folder: one workdir per run inside.')
_ROWS = flags.DEFINE_list('rows', [], 'Instead of running: row folders to gather into one table.')
_OUT = flags.DEFINE_string('out', '', 'With --rows: the Markdown table (also its .json beside it).')
_RESULTS = flags.DEFINE_string(
    'results_dir', 'results', 'Where the finished row is recorded as <config stem>/<variant>.json '
    '(the repository\'s results/ when run from its root, as documented); empty: not recorded.')

RESULTS_JSON = 'results.json'
RESULTS_MD = 'results.md'


def run_names(config) -> list[tuple[str, Optional[int], int]]:
  """(workdir name, fold or None, seed) of every run of the row, in order."""
  folds = (list(config.reproduce.get('folds', ()) or range(config.data.cv_folds))
           if config.data.cv_folds else [None])
  return [(f'fold{k}-seed{s}' if k is not None else f'seed{s}', k, s)
          for k in folds for s in config.reproduce.seeds]


def run_config(config, fold: Optional[int], seed: int):
  """The row's config for one run: its seed and, with cross-validation, its held-out fold.

  An init_from with config_base.FOLD_FIELD names one pretraining workdir per fold (one that read
  only the fold's training text, e.g. configs/tapt.py's), filled in with the run's fold."""
  from textcls_jax import config_base
  run = config.copy_and_resolve_references()
  run.seed = seed
  if fold is not None:  # (Without folds '{fold}' stays, for config_checks to refuse.)
    run.data.cv_fold = fold
    run.init_from = run.init_from.replace(config_base.FOLD_FIELD, str(fold))
  return run


def finished(workdir: str, num_steps: int) -> bool:
  """Whether the run in `workdir` ended: its test split was evaluated at the last step."""
  from textcls_jax import workdir as wd
  try:
    rows = wd.read_metrics(workdir)
  except FileNotFoundError:
    return False
  return any(r['split'] == 'test' and r['step'] == num_steps for r in rows)


def run_result(workdir: str, fold: Optional[int], seed: int) -> dict:
  """One run's figures, from its metrics.jsonl: dev at the checkpoint dev chose, test there."""
  from textcls_jax import workdir as wd
  rows = wd.read_metrics(workdir)
  test = [r for r in rows if r['split'] == 'test'][-1]
  dev = next(r for r in rows if r['split'] == 'dev' and r['step'] == test['checkpoint_step'])
  # (The chosen checkpoint is one saved with its dev figures, or the last step, always evaluated.)
  from textcls_jax import results
  seconds = results.train_seconds(rows)
  return {'run': os.path.basename(workdir), 'fold': fold, 'seed': seed, 'steps': test['step'],
          'checkpoint_step': test['checkpoint_step'], 'dev_accuracy': dev['accuracy'],
          'test_accuracy': test['accuracy'], 'test_macro_f1': test['macro_f1'],
          'train_seconds': round(seconds, 1)}


def row_table(name: str, config_spec: str, config, runs: list[dict]) -> dict:
  """The row's results: each run, and the mean and std of its dev and test accuracy."""
  from textcls_jax import results
  return {'name': name, 'config': config_spec, 'model': config.model.name,
          'init_from': config.init_from, 'cv_folds': config.data.cv_folds,
          'seeds': list(config.reproduce.seeds), 'folds': list(config.reproduce.get('folds', ())),
          'reference': config.reproduce.get('reference', ''), 'runs': runs,
          'dev_accuracy': results.summary([r['dev_accuracy'] for r in runs]),
          'test_accuracy': results.summary([r['test_accuracy'] for r in runs]),
          'train_minutes': round(sum(r['train_seconds'] for r in runs) / 60, 1)}


def row_markdown(row: dict) -> str:
  from textcls_jax import results
  lines = [f"# {row['name']}", '',
           f"`{row['config']}`: {row['model']}"
           + (f", fine-tuned from `{row['init_from']}`" if row['init_from'] else ', from scratch')
           + f"; {len(row['runs'])} runs; test {results.pct(row['test_accuracy'])}, dev "
           f"{results.pct(row['dev_accuracy'])} (mean ± std, accuracy %); "
           f"{row['train_minutes']} minutes of training."
           + (f" Read against: {row['reference']}." if row.get('reference') else ''), '',
           '| run | fold | seed | steps | checkpoint | dev accuracy | test accuracy |',
           '|---|---|---|---|---|---|---|']
  for r in row['runs']:
    lines.append(f"| {r['run']} | {'' if r['fold'] is None else r['fold']} | {r['seed']} | "
                 f"{r['steps']} | {r['checkpoint_step']} | {r['dev_accuracy']:.4f} | "
                 f"{r['test_accuracy']:.4f} |")
  return '\n'.join(lines) + '\n'


def rows_markdown(rows: list[dict]) -> str:
  """One table of several rows: test and dev accuracy (%), mean ± std over the runs."""
  from textcls_jax import results
  lines = ['| row | config | encoder | runs | test accuracy | dev accuracy | read against | '
           'training |', '|---|---|---|---|---|---|---|---|']
  for row in rows:
    encoder = row['model'] + (' pretrained' if row['init_from'] else '')
    lines.append(f"| {row['name']} | `{row['config']}` | {encoder} | {results.runs_label(row)} | "
                 f"{results.pct(row['test_accuracy'])} | {results.pct(row['dev_accuracy'])} | "
                 f"{row.get('reference', '')} | {row['train_minutes']:g} min |")
  return '\n'.join(lines) + '\n'


def results_file(row: dict, config_spec: str, command: Sequence[str]) -> dict:
  """The row as a committed results file (textcls_jax.results): named by its variant, with the
  command, commit, date and machine that made it."""
  from textcls_jax import results
  return {'kind': 'reproduce', **row, 'name': config_spec.partition(':')[2] or 'default',
          'config': config_spec, **results.provenance(command), 'notes': []}


def write_text(path: str, text: str) -> None:
  from textcls_jax import workdir as wd
  wd.atomic_write_text(path, text)


def reproduce(config, config_spec: str, workdir: str, results_dir: str = '',
              command: Sequence[str] = ()) -> dict:
  """Runs (or reads) every run of the row and writes WORKDIR/results.json and results.md, and
  with `results_dir` the row's results file there (results/<config stem>/<variant>.json)."""
  from textcls_jax import train
  names = run_names(config)
  for name, fold, seed in names:  # Every run's config is checked before the first one starts.
    config_checks.validate(run_config(config, fold, seed))
  if config.data.cv_folds == 0 and config.data.test_fraction == 0:
    raise config_checks.ConfigError(
        'reproduce needs a test split: set data.cv_folds (cross-validation) or data.test_fraction')
  runs = []
  for i, (name, fold, seed) in enumerate(names):
    path = os.path.join(workdir, name)
    if finished(path, config.train.num_steps):
      logging.info('[%d/%d] %s: finished, read', i + 1, len(names), path)
    else:
      logging.info('[%d/%d] %s: training', i + 1, len(names), path)
      train.train_and_evaluate(run_config(config, fold, seed), path)
    runs.append(run_result(path, fold, seed))
    logging.info('[%d/%d] %s: dev %.4f, test %.4f', i + 1, len(names), name,
                 runs[-1]['dev_accuracy'], runs[-1]['test_accuracy'])
  row = row_table(os.path.basename(os.path.normpath(workdir)), config_spec, config, runs)
  write_text(os.path.join(workdir, RESULTS_JSON), json.dumps(row, indent=1) + '\n')
  write_text(os.path.join(workdir, RESULTS_MD), row_markdown(row))
  if results_dir:
    from textcls_jax import results
    path = results.write(results.path_for(config_spec, results_dir),
                         results_file(row, config_spec, command))
    logging.info('Results recorded in %s (python -m textcls_jax.results makes the tables)', path)
  return row


def gather(row_dirs: Sequence[str], out: str) -> str:
  """One Markdown table (and its JSON) of several rows' results.json."""
  rows = []
  for d in row_dirs:
    path = os.path.join(d, RESULTS_JSON)
    if not os.path.exists(path):
      raise FileNotFoundError(f'{path}: no results yet (run python -m textcls_jax.reproduce '
                              f'--config=... --workdir={d})')
    with open(path) as f:
      rows.append(json.load(f))
  text = rows_markdown(rows)
  if out:
    write_text(out, text)
    write_text(os.path.splitext(out)[0] + '.json', json.dumps(rows, indent=1) + '\n')
  return text


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {" ".join(argv[1:])}')
  if _ROWS.value:
    try:
      print(gather(_ROWS.value, _OUT.value), end='')
    except FileNotFoundError as e:
      sys.exit(f'error: {e}')
    return
  if _CONFIG.value is None or not _WORKDIR.value:
    raise app.UsageError('give --config and --workdir (or --rows)')
  from textcls_jax import quiet
  quiet.setup_logging()
  spec = next((a.split('=', 1)[1] for a in sys.argv if a.startswith('--config=')), '')
  with failures.reported(_WORKDIR.value):
    row = reproduce(_CONFIG.value, spec, _WORKDIR.value, _RESULTS.value,
                    ['python', '-m', 'textcls_jax.reproduce'] + sys.argv[1:])
  print(row_markdown(row), end='')


def run():
  from textcls_jax import quiet
  quiet.quiet_native_logs()
  app.run(main)  # Parsing --config executes the file, once, and checks its overrides' keys.


if __name__ == '__main__':
  run()
