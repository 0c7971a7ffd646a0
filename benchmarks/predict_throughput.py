"""Throughput of `Predictor.predict` on a file of texts (default: IMDB's 25,000 training reviews).

  python benchmarks/predict_throughput.py --workdir=runs/sst2_cnn \
      [--input=../shared/data/imdb/train.jsonl.gz] [--batch_size=256]

Loads the workdir's best checkpoint, then classifies every text twice in this process: the first
pass pays the compiles (one per length bucket, unless the persistent compilation cache has them),
the second shows the steady state. Prints one JSON line: texts/s and padded tokens/s of each pass,
the buckets compiled, and the time to load the workdir.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

DEFAULT_INPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared',
                             'data', 'imdb', 'train.jsonl.gz')


def read_texts(path: str) -> list[str]:
  """A .jsonl(.gz) file's 'text' fields, or a plain file's lines."""
  opener = gzip.open if path.endswith('.gz') else open
  with opener(path, 'rt', encoding='utf-8') as f:
    if '.jsonl' in path:
      return [json.loads(line)['text'] for line in f if line.strip()]
    return [line.rstrip('\n') for line in f]


def main():
  ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  ap.add_argument('--workdir', required=True)
  ap.add_argument('--input', default=DEFAULT_INPUT)
  ap.add_argument('--batch_size', type=int, default=256)
  args = ap.parse_args()

  import tensorflow as tf
  tf.config.set_visible_devices([], 'GPU')
  from textcls_jax.data import pipeline
  from textcls_jax.predict import Predictor

  texts = read_texts(args.input)
  t0 = time.perf_counter()
  predictor = Predictor.from_workdir(args.workdir)
  load_s = time.perf_counter() - t0
  cfg = predictor.config.data
  passes = []
  for _ in range(2):
    t0 = time.perf_counter()
    results = predictor.predict(texts, batch_size=args.batch_size)
    passes.append(time.perf_counter() - t0)
  assert len(results) == len(texts)
  lengths = [min(len(ids) + 1, cfg.max_len) for ids in predictor.tokenizer.encode_batch(texts)]
  buckets = pipeline.buckets_for(cfg.max_len, cfg.length_buckets)
  print(json.dumps({
      'workdir': args.workdir, 'model': predictor.config.model.name, 'texts': len(texts),
      'max_len': cfg.max_len, 'batch_size': args.batch_size,
      'mean_tokens': round(sum(lengths) / len(lengths), 1),
      'buckets_used': sorted({min(b for b in buckets if b >= n) for n in lengths}),
      'load_s': round(load_s, 2), 'first_pass_s': round(passes[0], 2),
      'second_pass_s': round(passes[1], 2),
      'texts_per_s_first': round(len(texts) / passes[0], 1),
      'texts_per_s': round(len(texts) / passes[1], 1),
      'cpus': os.cpu_count(), 'machine': platform.processor() or platform.machine()}))


if __name__ == '__main__':
  main()
