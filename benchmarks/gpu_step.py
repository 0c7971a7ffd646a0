"""The train step of a BERT-architecture classifier on whatever device JAX has: tokens/s and
model-FLOPs utilization (MFU). benchmarks/gpu_check.sh runs it on a GPU; on CPU it runs too (a
tiny size in tests/test_benchmarks.py).

  python benchmarks/gpu_step.py --layers=12 --hidden=768 --heads=12 --mlp=3072 --vocab=30522 \
      --batch=256 --seq_len=128 --dtype=bfloat16 --steps=20
  python benchmarks/gpu_step.py --minilm_epoch   # all-MiniLM-L6-v2's shape, SST-2's epoch

The step is the project's own: `train.train_step` on config_base.bert_model's encoder, jitted with
the state donated, on synthetic full-length batches (random ids, 2 labels), attention by
model.attention_impl 'auto' (with attention dropout 0.1 during training that is the 'einsum' path;
--attention_dropout=0 lets 'auto' pick cuDNN on a GPU in bfloat16).

Model FLOPs per token trained: 6 x the non-embedding parameters + 12 x layers x seq_len x hidden
(attention's scores and weighted sum, forward and backward). MFU: that x tokens/s over the device's
dense peak (--peak_tflops, or PEAK_TFLOPS by JAX's device_kind). Prints one JSON line per
measurement. --minilm_epoch instead times `--epoch_steps` steps (SST-2's 67,349 sentences at batch
32: 2,105) at MiniLM's shape with 64 tokens a row, compilation apart: one epoch's compute, an
upper bound for the real run's shorter, bucketed batches.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import jax
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import finetune_cost  # noqa: E402
from textcls_jax import config_base  # noqa: E402

# Dense bfloat16 peak TFLOP/s by jax.devices()[0].device_kind (NVIDIA's data sheets, SXM).
PEAK_TFLOPS = {'NVIDIA H100 80GB HBM3': 989.4, 'NVIDIA H200': 989.4}


def build(args):
  """(state, 8 batches, the jitted step) of the args' BERT classifier (finetune_cost's setup)."""
  config = config_base.base_config()
  config.model = config_base.bert_model(args.hidden, args.layers, args.heads, args.mlp,
                                        dtype=args.dtype, attention_dropout=args.attention_dropout)
  config.data.max_len = args.seq_len
  config.train.batch_size = args.batch
  config.tokenizer.vocab_size = args.vocab
  config.train.num_steps = 10_000
  return finetune_cost.classifier_step(config, num_batches=8)


def flops_per_token(params, args) -> float:
  flat = jax.tree_util.tree_flatten_with_path(params)[0]
  embedding = sum(int(x.size) for path, x in flat
                  if any(getattr(k, 'key', '') in ('embed', 'pos_embed', 'type_embed') for k in path))
  dense = sum(int(x.size) for x in jax.tree.leaves(params)) - embedding
  return 6 * dense + 12 * args.layers * args.seq_len * args.hidden


def main(argv=None) -> int:
  ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  ap.add_argument('--layers', type=int, default=12)
  ap.add_argument('--hidden', type=int, default=768)
  ap.add_argument('--heads', type=int, default=12)
  ap.add_argument('--mlp', type=int, default=3072)
  ap.add_argument('--vocab', type=int, default=30522)
  ap.add_argument('--batch', type=int, default=256)
  ap.add_argument('--seq_len', type=int, default=128)
  ap.add_argument('--dtype', default='bfloat16', choices=['float32', 'bfloat16'])
  ap.add_argument('--attention_dropout', type=float, default=0.1)
  ap.add_argument('--steps', type=int, default=20)
  ap.add_argument('--peak_tflops', type=float, default=0.0)
  ap.add_argument('--minilm_epoch', action='store_true')
  ap.add_argument('--epoch_steps', type=int, default=2105)
  args = ap.parse_args(argv)
  if args.minilm_epoch:
    args.layers, args.hidden, args.heads, args.mlp = 6, 384, 12, 1536
    args.batch, args.seq_len, args.dtype = 32, 64, 'float32'
  device = jax.devices()[0]
  state, batches, step = build(args)
  key = jax.random.PRNGKey(1)
  t0 = time.perf_counter()
  state, metrics = step(state, batches[0], key)
  jax.block_until_ready(metrics)
  first = time.perf_counter() - t0
  steps = args.epoch_steps if args.minilm_epoch else args.steps
  times = []
  t0 = time.perf_counter()
  for i in range(steps):
    s = time.perf_counter()
    state, metrics = step(state, batches[(i + 1) % len(batches)], key)
    if not args.minilm_epoch:  # Per-step times; an epoch is timed whole, without syncs.
      jax.block_until_ready(metrics)
      times.append(time.perf_counter() - s)
  jax.block_until_ready(state.params)
  total = time.perf_counter() - t0
  tokens = args.batch * args.seq_len
  result = {'case': 'minilm_sst2_epoch' if args.minilm_epoch else 'train_step',
            'device': device.device_kind, 'platform': device.platform, 'jax': jax.__version__,
            'layers': args.layers, 'hidden': args.hidden, 'batch': args.batch,
            'seq_len': args.seq_len, 'dtype': args.dtype,
            'attention_impl_training': 'einsum' if args.attention_dropout else 'auto',
            'first_step_s': round(first, 2), 'steps': steps,
            'loss': float(metrics['loss_sum'] / metrics['count'])}
  if args.minilm_epoch:
    result.update(epoch_s=round(total, 2), tokens_per_s=round(steps * tokens / total, 1))
  else:
    median = float(np.median(times))
    per_token = flops_per_token(state.params, args)
    peak = args.peak_tflops or PEAK_TFLOPS.get(device.device_kind, 0.0)
    result.update(step_ms=round(median * 1e3, 2), tokens_per_s=round(tokens / median, 1),
                  model_flops_per_token=per_token,
                  model_tflops_per_s=round(per_token * tokens / median / 1e12, 2),
                  peak_tflops=peak or None,
                  mfu=round(per_token * tokens / median / 1e12 / peak, 4) if peak else None)
  print(json.dumps(result), flush=True)
  return 0


if __name__ == '__main__':
  sys.exit(main())
