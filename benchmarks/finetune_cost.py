"""Memory and step time of fine-tuning: configs side by side (full fine-tuning against LoRA).

  python benchmarks/finetune_cost.py \
      --configs=configs/published_minilm.py,configs/published_minilm.py:lora [--repeats=30] \
      [--record]

For each config, in this one process and sitting: its classifier at its shapes (train.batch_size
rows of data.max_len tokens, tokenizer.vocab_size pieces, 2 classes; random weights, as the cost
does not depend on their values), its train step compiled as a run compiles it (jax.jit, the state
donated, xla_options.for_step), then
- parameters, and how many of them train;
- the state held between steps (parameters and optimizer state), in MB;
- XLA's scratch for one step (the compiled step's memory_analysis: activations, gradients and
  temporaries), in MB; state + scratch is the step's peak, the batch aside;
- the median (and quartiles) of the step time over `repeats` steps after two warm-up steps.
Prints one JSON line per config; --record writes them to results/finetune_cost/<UTC date>.json,
tabulated in docs/results/runs.md. Run it on an idle machine.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import os
import sys
import time

import jax
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from textcls_jax import config_base, models, results, tasks, train, train_state  # noqa: E402
from textcls_jax import xla_options  # noqa: E402

MB = 2 ** 20


def _bytes(tree) -> int:
  return sum(int(x.size) * x.dtype.itemsize for x in jax.tree.leaves(tree))


def classifier_step(config, num_batches: int = 1):
  """(state, batches, step) for timing a config's classifier: a fresh train state (2 classes,
  tokenizer.vocab_size pieces), `num_batches` synthetic full-length batches of train.batch_size x
  data.max_len on the device, and train.train_step jitted as a run jits it (the state donated,
  xla_options.for_step). benchmarks/gpu_step.py times the same."""
  batch_size, length = config.train.batch_size, config.data.max_len
  vocab = config.tokenizer.vocab_size
  model, inputs = models.build_for_task(config, vocab, 2, pad_id=0)
  state = train_state.create_train_state(config, model, inputs, jax.random.PRNGKey(0))
  rng = np.random.default_rng(0)
  batches = [jax.device_put({
      'tokens': rng.integers(1, vocab, (batch_size, length)).astype(np.int32),
      'label': rng.integers(0, 2, batch_size).astype(np.int32),
      'weight': np.ones(batch_size, np.float32)}) for _ in range(num_batches)]
  step = jax.jit(functools.partial(train.train_step, objective=tasks.classification_objective),
                 donate_argnums=(0,),
                 compiler_options=xla_options.for_step(config.model.name, training=True) or None)
  return state, batches, step


def measure(config, case: str, repeats: int) -> dict:
  """One config's figures (the module docstring's list), named `case`."""
  batch_size, length = config.train.batch_size, config.data.max_len
  state, (batch,), step = classifier_step(config)
  parameters, trainable = train_state.parameter_counts(state)
  key = jax.random.PRNGKey(1)
  compiled = step.lower(state, batch, key).compile()
  memory = compiled.memory_analysis()
  times = []
  for i in range(repeats + 2):
    start = time.perf_counter()
    state, metrics = compiled(state, batch, key)
    jax.block_until_ready((state, metrics))
    if i >= 2:
      times.append(time.perf_counter() - start)
  q1, median, q3 = np.percentile(times, [25, 50, 75])
  return {'case': case, 'batch': batch_size, 'tokens': length,
          'parameters': parameters, 'trainable_parameters': trainable,
          'params_mb': round(_bytes(state.params) / MB, 1),
          'optimizer_state_mb': round(_bytes(state.opt_state) / MB, 1),
          'step_scratch_mb': round(memory.temp_size_in_bytes / MB, 1),
          'step_ms': round(median * 1e3, 1), 'step_ms_q1': round(q1 * 1e3, 1),
          'step_ms_q3': round(q3 * 1e3, 1), 'repeats': repeats}


def main(argv=None) -> int:
  ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  ap.add_argument('--configs', default='configs/published_minilm.py,'
                                       'configs/published_minilm.py:lora')
  ap.add_argument('--repeats', type=int, default=30)
  ap.add_argument('--record', action='store_true',
                  help='write results/finetune_cost/<UTC date>.json')
  args = ap.parse_args(argv)
  cases = []
  for spec in args.configs.split(','):
    cases.append(measure(config_base.config_file(spec), spec, args.repeats))
    print(json.dumps(cases[-1]), flush=True)
  if args.record:
    command = ['python', 'benchmarks/finetune_cost.py', f'--configs={args.configs}',
               f'--repeats={args.repeats}', '--record']
    print(record(cases, command))
  return 0


def record(cases: list, command: list, results_dir: str = results.RESULTS_DIR) -> str:
  """Writes the cases as results_dir/finetune_cost/<UTC date>.json; returns its path."""
  name = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d')
  result = {'kind': 'finetune_cost', 'name': name, 'cases': cases,
            **results.provenance(command), 'notes': []}
  path = os.path.join(results_dir, 'finetune_cost', f'{name}.json')
  os.makedirs(os.path.dirname(path), exist_ok=True)
  return results.write(path, result)


if __name__ == '__main__':
  sys.exit(main())
