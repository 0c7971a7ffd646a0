"""Does the input keep up? Train steps fed by the real tf.data pipeline vs the same batches from memory.

  TFDS_DATA_DIR=../shared/tfds python benchmarks/input_pipeline.py --config=configs/sst2_cnn.py
  python benchmarks/input_pipeline.py --config=configs/sst2_cnn.py \
      --set=data.source=tsv:../shared/data/sst2

Builds the config's experiment (tokenizer, data, model, optimizer) in a temporary workdir, takes the
first --steps batches of its training stream into memory, compiles every bucket's step, then times
alternately: --steps train steps fed by a fresh pipeline iterator (SentencePiece in the TF graph,
length-sorted windows, as `train.py` reads them), and the same --steps steps fed by the batches in
memory. Both loops are `train.py`'s: put the batch, dispatch the step, no host read per step.
Prints one JSON line: steps/s of each (median over --rounds) and their ratio.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))


def main():
  ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  ap.add_argument('--config', default='configs/sst2_cnn.py')
  ap.add_argument('--set', action='append', default=[], help='KEY=VALUE config override')
  ap.add_argument('--steps', type=int, default=300)
  ap.add_argument('--rounds', type=int, default=3)
  args = ap.parse_args()

  import jax
  import tensorflow as tf
  tf.config.set_visible_devices([], 'GPU')

  from textcls_jax import compile_cache, config_base, experiment, parallel, start, train
  from textcls_jax import train_state, xla_options

  config = config_base.config_file(args.config)
  for item in args.set:
    key, value = item.split('=', 1)
    node = config
    *parents, leaf = key.split('.')
    for p in parents:
      node = node[p]
    node[leaf] = type(node[leaf])(value) if not isinstance(node[leaf], str) else value
  compile_cache.enable(config.get('compilation_cache', ''))
  workdir = tempfile.mkdtemp(prefix='input_pipeline-')
  dp = parallel.DataParallel('jit')
  exp = experiment.build_experiment(config, workdir, train_batch=config.train.batch_size,
                                    eval_batch=config.eval.batch_size,
                                    tokenizer_path=start.check(config,
                                                               workdir).tokenizer_path(config))
  state = dp.put_state(train_state.create_train_state(config, exp.model, exp.init_inputs,
                                                     jax.random.PRNGKey(config.seed)))
  rng = dp.replicate_plain(jax.random.PRNGKey(0))
  step = dp.compile_train_step(functools.partial(train.train_step, objective=exp.objective),
                               xla_options.for_step(config.model.name, training=True))
  stream = exp.train_batches(0)
  in_memory = [next(stream) for _ in range(args.steps)]
  shapes = {b['tokens'].shape: b for b in in_memory}
  for batch in shapes.values():  # Compile every bucket's program before timing.
    state, _ = step(state, dp.put_batch(batch), rng)
  jax.block_until_ready(state)

  def run(batches):
    nonlocal state
    t0 = time.perf_counter()
    for _, batch in zip(range(args.steps), batches):
      state, _ = step(state, dp.put_batch(batch), rng)
    jax.block_until_ready(state)
    return args.steps / (time.perf_counter() - t0)

  pipeline_rates, memory_rates = [], []
  for _ in range(args.rounds):
    pipeline_rates.append(run(exp.train_batches(0)))
    memory_rates.append(run(iter(in_memory)))
  p, m = statistics.median(pipeline_rates), statistics.median(memory_rates)
  print(json.dumps({
      'config': args.config, 'overrides': args.set, 'steps': args.steps, 'rounds': args.rounds,
      'batch_size': config.train.batch_size, 'buckets': sorted(s[1] for s in shapes),
      'pipeline_steps_per_s': round(p, 2), 'memory_steps_per_s': round(m, 2),
      'ratio': round(p / m, 3), 'pipeline_runs': [round(r, 2) for r in pipeline_rates],
      'memory_runs': [round(r, 2) for r in memory_rates], 'cpus': os.cpu_count(),
      'machine': platform.processor() or platform.machine()}))


if __name__ == '__main__':
  main()
