"""Pictures of runs, drawn from their metrics.jsonl: learning curves, the dev confusion matrix, and one
figure comparing several workdirs.

  python -m textcls_jax.plot WORKDIR                  # WORKDIR/plots/curves.png (+ confusion.png)
  python -m textcls_jax.plot WORKDIR_A WORKDIR_B ...  # and one comparison, --out=comparison.png

A training run draws its own at the end (train.py). matplotlib's Agg backend: no display is needed.
"""

from __future__ import annotations

import io
import os
import sys
from typing import Optional, Sequence

from textcls_jax import workdir as wd
from textcls_jax.data import sources
from textcls_jax.tasks import CONFUSION_PREFIX

PLOTS = 'plots'
CURVES = 'curves.png'
CONFUSION = 'confusion.png'


def read_metrics(workdir: str) -> list[dict]:
  """metrics.jsonl's rows, in order ({'step', 'split', ...figures}); see workdir.read_metrics."""
  return wd.read_metrics(workdir)


def series(rows: Sequence[dict], split: str, key: str) -> tuple[list[int], list[float]]:
  """(steps, values) of `key` over the rows of `split` that have it."""
  picked = [(r['step'], r[key]) for r in rows if r.get('split') == split and key in r]
  return [s for s, _ in picked], [v for _, v in picked]


def confusion_matrix(row: dict, names: Sequence[str]) -> list[list[float]]:
  """The [C, C] counts (true, predicted) of one dev row, in the order of `names`."""
  return [[row.get(f'{CONFUSION_PREFIX}{t}/{p}', 0.0) for p in names] for t in names]


def _quality_key(rows: Sequence[dict]) -> str:
  return 'perplexity' if any('perplexity' in r for r in rows) else 'accuracy'


def _figure(ncols: int, width: float = 4.2, height: float = 3.2):
  import matplotlib
  matplotlib.use('Agg')
  from matplotlib import pyplot as plt
  fig, axes = plt.subplots(1, ncols, figsize=(width * ncols, height), squeeze=False)
  return fig, list(axes[0])


def _save(fig, path: str) -> str:
  from matplotlib import pyplot as plt
  buffer = io.BytesIO()
  fig.tight_layout()
  fig.savefig(buffer, format='png', dpi=110)
  plt.close(fig)
  wd.atomic_write_bytes(path, buffer.getvalue())  # Never a half-written image, local or gs://.
  return path


def draw_curves(rows: Sequence[dict], path: str, title: str = '') -> str:
  """Train and dev loss, train and dev accuracy (or dev perplexity for MLM), and the learning rate
  against the step, as one PNG at `path`."""
  quality = _quality_key(rows)
  fig, (loss_ax, quality_ax, lr_ax) = _figure(3)
  for split, style in (('train', '-'), ('dev', 'o-')):
    loss_ax.plot(*series(rows, split, 'loss'), style, label=split, markersize=3)
    quality_ax.plot(*series(rows, split, quality), style, label=split, markersize=3)
  lr_ax.plot(*series(rows, 'train', 'learning_rate'), '-')
  for ax, name in ((loss_ax, 'loss'), (quality_ax, quality), (lr_ax, 'learning rate')):
    ax.set_xlabel('step')
    ax.set_title(name)
    ax.grid(alpha=0.3)
  if quality == 'perplexity':
    quality_ax.set_yscale('log')
  loss_ax.legend()
  quality_ax.legend()
  if title:
    fig.suptitle(title)
  return _save(fig, path)


def draw_confusion(row: dict, names: Sequence[str], path: str, title: str = '') -> str:
  """The confusion matrix of one dev row (true label down, predicted across) as a PNG at `path`."""
  counts = confusion_matrix(row, names)
  side = max(3.6, 1.6 + 0.6 * len(names))
  fig, (ax,) = _figure(1, width=side + 0.4, height=side)
  ax.imshow(counts, cmap='Blues')
  top = max(max(r) for r in counts) or 1.0
  for t, line in enumerate(counts):
    for p, count in enumerate(line):
      ax.text(p, t, f'{count:g}', ha='center', va='center',
              color='white' if count > top / 2 else 'black')
  ax.set_xticks(range(len(names)), names, rotation=45 if len(names) > 4 else 0)
  ax.set_yticks(range(len(names)), names)
  ax.set_xlabel('predicted')
  ax.set_ylabel('true')
  ax.set_title(title or f'dev, step {row["step"]}\naccuracy {row.get("accuracy", 0):.3f}')
  return _save(fig, path)


def draw_comparison(runs: dict[str, Sequence[dict]], path: str) -> str:
  """One PNG comparing runs ({name: rows}): train loss, dev loss and dev accuracy (or perplexity)."""
  quality = _quality_key([r for rows in runs.values() for r in rows])
  fig, axes = _figure(3)
  for name, rows in runs.items():
    axes[0].plot(*series(rows, 'train', 'loss'), '-', label=name)
    axes[1].plot(*series(rows, 'dev', 'loss'), 'o-', label=name, markersize=3)
    axes[2].plot(*series(rows, 'dev', quality), 'o-', label=name, markersize=3)
  for ax, name in zip(axes, ('train loss', 'dev loss', f'dev {quality}')):
    ax.set_xlabel('step')
    ax.set_title(name)
    ax.grid(alpha=0.3)
    ax.legend(fontsize='small')
  return _save(fig, path)


def label_names(workdir: str) -> Optional[list[str]]:
  """The class names of a classifier's workdir (labels.json, read as the run wrote it); None for MLM."""
  path = wd.join(workdir, wd.LABELS)
  return list(sources.LabelVocab.from_json(wd.read_json(path)).names) if wd.exists(path) else None


def plot_workdir(workdir: str) -> list[str]:
  """Draws WORKDIR/plots/curves.png and, for a classifier with a dev evaluation, confusion.png (of
  the last one); returns the paths written."""
  rows = read_metrics(workdir)
  folder = wd.join(workdir, PLOTS)
  name = os.path.basename(str(workdir).rstrip('/'))
  written = [draw_curves(rows, wd.join(folder, CURVES), title=name)]
  names = label_names(workdir)
  dev = [r for r in rows if r.get('split') == 'dev' and any(k.startswith(CONFUSION_PREFIX) for k in r)]
  if names and dev:
    written.append(draw_confusion(dev[-1], names, wd.join(folder, CONFUSION)))
  return written


def plot_comparison(workdirs: Sequence[str], path: str) -> str:
  """One figure of several workdirs, each named by its folder."""
  runs = {os.path.basename(str(w).rstrip('/')) or str(w): read_metrics(w) for w in workdirs}
  return draw_comparison(runs, path)


def main(argv: Sequence[str]) -> int:
  import argparse
  parser = argparse.ArgumentParser(prog='python -m textcls_jax.plot', description=__doc__.split('\n')[0])
  parser.add_argument('workdirs', nargs='+', help='workdirs with a metrics.jsonl')
  parser.add_argument('--out', default='comparison.png',
                      help='the comparison figure, when several workdirs are given')
  args = parser.parse_args(argv)
  try:
    for workdir in args.workdirs:
      for path in plot_workdir(workdir):
        print(path)
    if len(args.workdirs) > 1:
      print(plot_comparison(args.workdirs, args.out))
  except FileNotFoundError as e:
    print(f'error: {e}', file=sys.stderr)
    return 1
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
