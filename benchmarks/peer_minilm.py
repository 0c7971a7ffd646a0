#!/usr/bin/env python
"""Peer benchmark for the published-encoder step: HF BertForSequenceClassification at
all-MiniLM-L6-v2's shape (6 layers x 384, 12 heads, FFN 1536, vocabulary 30522, 512 positions;
random weights from its BertConfig, nothing downloaded), in PyTorch on CPU.

  ../peers-venv/bin/python benchmarks/peer_minilm.py --task cls --mode eager

Tasks:
  --task cls    one training step at batch 32 x 128: forward, cross-entropy over 2 labels, backward,
                AdamW (weight decay 0.01), zero_grad; dropout on (train mode).
  --task infer  the forward pass alone at batch 64 x 128, in eval mode under torch.inference_mode.
Modes (what a PyTorch user on a CPU would pick):
  --mode eager    float32.
  --mode compile  torch.compile (inductor) of the model; for cls the loss is computed inside it,
                  backward and AdamW eagerly.
  --mode bf16     eager under torch.autocast('cpu', dtype=torch.bfloat16): matmuls in bfloat16
                  (oneDNN, AMX where the CPU has it), weights and optimizer in float32.

Batches: random token ids in [5, vocab) with [CLS] first and [SEP] last, no padding, cycled over 8.
Timing as ../shared/peers' scripts: the first step (compilation included) alone, then the rest of
--warmup, then each of --steps timed on its own; steps/s = 1 / median. Prints one JSON line in their
format (first_step_s, steps_per_s, tokens_per_s, peak_rss_mb, cpu_util, ...).
"""

import argparse
import contextlib
import json
import os
import platform
import resource
import statistics
import time

import torch
import transformers

CLS_ID, SEP_ID, FIRST_REAL_ID = 1, 2, 5


def parse_args():
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  p.add_argument('--task', choices=['cls', 'infer'], default='cls')
  p.add_argument('--mode', choices=['eager', 'compile', 'bf16'], default='eager')
  p.add_argument('--batch', type=int, default=0, help='default: 32 for cls, 64 for infer')
  p.add_argument('--seq-len', type=int, default=128)
  p.add_argument('--warmup', type=int, default=5, help='untimed steps, the first included')
  p.add_argument('--steps', type=int, default=20, help='timed steps')
  p.add_argument('--threads', type=int, default=0, help='torch.set_num_threads if > 0')
  p.add_argument('--seed', type=int, default=0)
  return p.parse_args()


def minilm_config() -> transformers.BertConfig:
  """all-MiniLM-L6-v2's config.json, as its package ships it (dropout 0.1 in both places)."""
  return transformers.BertConfig(
      vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
      intermediate_size=1536, max_position_embeddings=512, type_vocab_size=2,
      hidden_act='gelu', layer_norm_eps=1e-12, hidden_dropout_prob=0.1,
      attention_probs_dropout_prob=0.1, num_labels=2, pad_token_id=0)


def main():
  args = parse_args()
  if args.threads > 0:
    torch.set_num_threads(args.threads)
  torch.manual_seed(args.seed)
  gen = torch.Generator().manual_seed(args.seed)
  batch = args.batch or (32 if args.task == 'cls' else 64)
  config = minilm_config()
  model = transformers.BertForSequenceClassification(config)
  params = sum(p.numel() for p in model.parameters())
  batches = []
  for _ in range(8):
    ids = torch.randint(FIRST_REAL_ID, config.vocab_size, (batch, args.seq_len), generator=gen)
    ids[:, 0], ids[:, -1] = CLS_ID, SEP_ID
    batches.append(dict(input_ids=ids, attention_mask=torch.ones_like(ids),
                        labels=torch.randint(0, 2, (batch,), generator=gen)))
  run_model = torch.compile(model) if args.mode == 'compile' else model
  autocast = (lambda: torch.autocast('cpu', dtype=torch.bfloat16)) if args.mode == 'bf16' else (
      contextlib.nullcontext)

  if args.task == 'cls':
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.01)
    def step(i):
      with autocast():
        out = run_model(**batches[i % len(batches)])
      out.loss.backward()
      optimizer.step()
      optimizer.zero_grad(set_to_none=True)
      return out.loss.item()  # Also makes the step synchronous.
  else:
    model.eval()
    def step(i):
      inputs = {k: v for k, v in batches[i % len(batches)].items() if k != 'labels'}
      with torch.inference_mode(), autocast():
        return float(run_model(**inputs).logits[0, 0])

  t0 = time.perf_counter()
  step(0)
  first_step_s = time.perf_counter() - t0
  for i in range(1, args.warmup):
    step(i)
  times = []
  wall0, cpu0 = time.perf_counter(), time.process_time()
  for i in range(args.warmup, args.warmup + args.steps):
    t = time.perf_counter()
    step(i)
    times.append(time.perf_counter() - t)
  cpu_util = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
  med = statistics.median(times)
  print(json.dumps(dict(
      benchmark=f'minilm_{args.task}', task=args.task, mode=args.mode, batch=batch,
      seq_len=args.seq_len, params=params, first_step_s=round(first_step_s, 3),
      step_s_median=round(med, 5), step_s_min=round(min(times), 5),
      steps_per_s=round(1 / med, 4), tokens_per_s=round(batch * args.seq_len / med, 1),
      samples_per_s=round(batch / med, 2),
      peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
      cpu_util=round(cpu_util, 2), loadavg_1m=round(os.getloadavg()[0], 2),
      num_threads=torch.get_num_threads(), torch=torch.__version__,
      transformers=transformers.__version__,
      attn_implementation=model.config._attn_implementation,
      python=platform.python_version())))


if __name__ == '__main__':
  main()
