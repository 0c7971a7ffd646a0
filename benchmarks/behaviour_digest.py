"""Digests of short fixed training runs, to show that a refactor changed no behaviour.

  python benchmarks/behaviour_digest.py [--steps=50] [--keep=DIR]

Trains a CNN classifier, a Transformer classifier and an RNN MLM for --steps steps each, from
scratch, on synthetic data this script writes (nothing is downloaded or read from ../shared), and
prints for each run two digests: of the final checkpoint's arrays (parameters, optimizer state,
step and key, read straight from Orbax, not through the project's own restore code) and of
metrics.jsonl without its timing field (`steps_per_s`, which differs from run to run). Run it on
the commit before a change and on the commit after: the lines must be identical.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import tempfile

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TIMING_KEYS = ('steps_per_s',)
WORDS = ('good great fine lovely bad awful poor dull the film movie plot was is a and it story '
         'not very quite').split()


def write_data(folder: str) -> None:
  """train.tsv (400 rows), dev.tsv (100) and corpus.txt (600 lines) of seeded random sentences."""
  rng = random.Random(0)
  sentence = lambda: ' '.join(rng.choice(WORDS) for _ in range(rng.randint(2, 14)))
  for name, n in (('train', 400), ('dev', 100)):
    rows = ['sentence\tlabel']
    for _ in range(n):
      text = sentence()
      rows.append(f'{text}\t{"pos" if ("good" in text or "great" in text) else "neg"}')
    with open(os.path.join(folder, f'{name}.tsv'), 'w') as f:
      f.write('\n'.join(rows) + '\n')
  with open(os.path.join(folder, 'corpus.txt'), 'w') as f:
    f.write('\n'.join(sentence() for _ in range(600)) + '\n')


def configs(data: str, steps: int) -> dict:
  from textcls_jax import config_base

  def common(c):
    c.tokenizer.vocab_size = 80
    c.data.max_len = 32
    c.train.batch_size = 16
    c.train.num_steps = steps
    c.train.log_every_steps = max(steps // 5, 1)
    c.train.eval_every_steps = max(steps // 2, 1)
    c.checkpoint.every_steps = max(steps // 2, 1)
    c.optim.warmup_steps = 5
    return c

  cnn = common(config_base.base_config())
  cnn.model = config_base.cnn_model()
  cnn.model.update(embed_dim=16, num_filters=8)
  cnn.data.source = f'tsv:{data}'

  transformer = common(config_base.base_config())
  transformer.model = config_base.transformer_model()
  transformer.model.update(hidden_dim=32, num_layers=2, num_heads=2, mlp_dim=64, max_len=32)
  transformer.data.source = f'tsv:{data}'

  mlm = common(config_base.base_config())
  mlm.task = 'mlm'
  mlm.model = config_base.rnn_model()
  mlm.model.update(embed_dim=16, hidden_dim=16)
  mlm.data.corpus_sources = (f'text:{data}/corpus.txt',)
  mlm.data.seq_len = 32
  mlm.eval.max_batches = 2
  mlm.checkpoint.best_metric = 'loss'
  mlm.checkpoint.best_mode = 'min'
  return {'cnn_classifier': cnn, 'transformer_classifier': transformer, 'rnn_mlm': mlm}


def checkpoint_digest(workdir: str) -> tuple[int, str]:
  """(latest step, blake2b of its `state` arrays: key paths, dtypes, shapes, bytes, sorted)."""
  import numpy as np
  import orbax.checkpoint as ocp
  root = os.path.join(workdir, 'checkpoints')
  step = max(int(d) for d in os.listdir(root) if d.isdigit())
  tree = ocp.StandardCheckpointer().restore(os.path.join(root, str(step), 'state'))
  import jax
  h = hashlib.blake2b(digest_size=16)
  for path, leaf in sorted(jax.tree_util.tree_leaves_with_path(tree),
                           key=lambda item: jax.tree_util.keystr(item[0])):
    value = np.ascontiguousarray(leaf)
    h.update(f'{jax.tree_util.keystr(path)}:{value.dtype}:{value.shape};'.encode())
    h.update(value.tobytes())
  return step, h.hexdigest()


def metrics_digest(workdir: str) -> tuple[int, str]:
  """(rows, blake2b of metrics.jsonl's rows without their timing keys, canonical JSON)."""
  h = hashlib.blake2b(digest_size=16)
  rows = 0
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    for line in f:
      row = {k: v for k, v in json.loads(line).items() if k not in TIMING_KEYS}
      h.update((json.dumps(row, sort_keys=True) + '\n').encode())
      rows += 1
  return rows, h.hexdigest()


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--steps', type=int, default=50)
  parser.add_argument('--keep', default='', help='write the data and workdirs here (kept)')
  args = parser.parse_args()
  root = args.keep or tempfile.mkdtemp(prefix='behaviour-digest-')
  data = os.path.join(root, 'data')
  os.makedirs(data, exist_ok=True)
  write_data(data)
  from absl import logging
  logging.set_verbosity(logging.WARNING)
  from textcls_jax import train
  for name, config in configs(data, args.steps).items():
    workdir = os.path.join(root, name)
    train.train_and_evaluate(config, workdir)
    step, params = checkpoint_digest(workdir)
    rows, metrics = metrics_digest(workdir)
    print(f'{name}: step {step} state {params} | metrics.jsonl {rows} rows {metrics}', flush=True)


if __name__ == '__main__':
  main()
