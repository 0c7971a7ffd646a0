"""Median train-step time of one model under each data-parallel mode and device count.

  XLA_FLAGS=--xla_force_host_platform_device_count=8 python benchmarks/step_time.py \
      --family=transformer --task=classify --batch=64 --seq_len=64 --repeats=20

Prints one JSON line per (mode, devices): median and quartiles of the step time over `repeats`
timed steps after two warm-up steps, and examples/s. On a CPU the simulated devices share the same
cores, so this measures the overhead of the parallel modes, not a speed-up.
"""

import argparse
import functools
import json
import os
import platform
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
from textcls_jax import config_base, masking, models, parallel, tasks, train, train_state  # noqa
from textcls_jax import vocab as special_ids  # noqa


def main():
  ap = argparse.ArgumentParser()
  ap.add_argument('--family', default='transformer', choices=['rnn', 'cnn', 'transformer'])
  ap.add_argument('--task', default='classify', choices=['classify', 'mlm'])
  ap.add_argument('--batch', type=int, default=64)
  ap.add_argument('--seq_len', type=int, default=64)
  ap.add_argument('--vocab', type=int, default=8000)
  ap.add_argument('--repeats', type=int, default=20)
  ap.add_argument('--devices', default='1,8', help='comma-separated device counts')
  args = ap.parse_args()

  config = config_base.base_config()
  config.model = getattr(config_base, f'{args.family}_model')()
  rng = np.random.default_rng(0)
  tokens = rng.integers(4, args.vocab, size=(args.batch, args.seq_len)).astype(np.int32)
  tokens[:, 0] = 2
  batch = {'tokens': tokens, 'label': rng.integers(0, 2, args.batch).astype(np.int32),
           'weight': np.ones(args.batch, np.float32)}
  if args.task == 'mlm':
    k = masking.num_predictions(args.seq_len, 0.15)
    model = models.build_masked_lm(config.model, args.vocab, pad_id=0)
    inputs = (jnp.ones((1, args.seq_len), jnp.int32), jnp.zeros((1, k), jnp.int32))
    objective = functools.partial(tasks.mlm_objective, vocab_size=args.vocab, rate=0.15,
                                  mask_fraction=0.8, random_fraction=0.1, max_predictions=k,
                                  special=special_ids.SENTENCEPIECE)
    del batch['label']
  else:
    model = models.build_classifier(config.model, args.vocab, 2, pad_id=0)
    inputs = (jnp.ones((1, args.seq_len), jnp.int32),)
    objective = tasks.classification_objective
  plain = train_state.create_train_state(config, model, inputs, jax.random.PRNGKey(0))
  for n in [int(d) for d in args.devices.split(',') if int(d) <= jax.device_count()]:
    for mode in ('jit', 'pmap'):
      dp = parallel.DataParallel(mode, jax.devices()[:n])
      state = dp.put_state(plain)
      step = dp.compile_train_step(functools.partial(train.train_step, objective=objective))
      key = jax.random.PRNGKey(1)
      times = []
      for i in range(args.repeats + 2):
        t0 = time.perf_counter()
        state, metrics = step(state, dp.put_batch(batch), key)
        jax.block_until_ready(metrics)
        if i >= 2:
          times.append(time.perf_counter() - t0)
      q1, med, q3 = np.percentile(times, [25, 50, 75])
      print(json.dumps({'family': args.family, 'task': args.task, 'mode': mode, 'devices': n,
                        'batch': args.batch, 'seq_len': args.seq_len, 'step_s_median': med,
                        'step_s_q1': q1, 'step_s_q3': q3, 'examples_per_s': args.batch / med,
                        'backend': jax.default_backend(), 'cpus': os.cpu_count(),
                        'machine': platform.processor() or platform.machine()}), flush=True)


if __name__ == '__main__':
  main()
