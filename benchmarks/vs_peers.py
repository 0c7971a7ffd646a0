"""Our train and inference steps against the PyTorch peers (../shared/peers), at the peers' shapes.

  python benchmarks/vs_peers.py --peer_python=../peers-venv/bin/python --reps=3

Each repetition runs every case once in a fresh process, ours and then each of the peer's modes, so
the two are measured in the same window, interleaved rep by rep (slow drifts in machine load spread
over both). Every run prints one JSON line in the peers' format (first_step_s, steps_per_s,
tokens_per_s, peak_rss_mb, cpu_util), appended to --out; the table at the end keeps only runs whose
machine shows no other work (--max_others_cpu: other processes' CPU time and the hypervisor's steal,
from /proc/stat) and gives, per case, the median tokens/s over reps and its ratio to the peer's
fastest mode. A window with the peers is recorded as results/vs_peers/<date>T<time>.json, the
data that `python -m textcls_jax.results` makes docs/results/speed.md from.

Ours runs the project's own code paths: `train.train_step` compiled by `parallel.DataParallel`
(jit, one device) on the model `config_base` builds, and `predict.probabilities` for inference,
in float32 on synthetic batches shaped as the peers' (token ids in [4, vocab), padding id 0; the
BiLSTM and CNN batches have random lengths in [T/2, T] as the peers', the Transformer batches are
full). Our first step is timed twice: with an empty persistent compilation cache (cold, rep 1) and
with the cache the earlier reps filled (warm).

Without --peer_python only our cases run. `--case NAME --one` runs one of ours in this process and
prints its JSON line (what the driver calls).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEERS = os.path.join(ROOT, '..', 'shared', 'peers')

_BERT = dict(name='transformer', hidden_dim=256, num_layers=4, num_heads=4, mlp_dim=1024,
             max_len=128, dropout=0.1, attention_dropout=0.1, pooling='cls')
# all-MiniLM-L6-v2's encoder as config_base.bert_model(384, 6, 12, 1536) states it (the published-
# encoder step: configs/published_minilm.py), against benchmarks/peer_minilm.py's HF model.
_MINILM = dict(name='transformer', hidden_dim=384, num_layers=6, num_heads=12, mlp_dim=1536,
               max_len=512, dropout=0.1, attention_dropout=0.1, pooling='cls', embed_norm=True,
               block_norm='post', activation='gelu', type_vocab_size=2, layer_norm_eps=1e-12,
               pooler=True)
MINILM_VOCAB = 30522
# Each case: our model (config.model overrides), the task, the batch shape, and the peer commands
# doing the same step (every peer mode a user could pick; the ratio is to the fastest).
CASES = collections.OrderedDict([
    ('transformer_cls_train', dict(
        model=_BERT, task='classify', batch=32, seq_len=128, full_length=True,
        peers=['peer_bert_mlm.py --task cls --mode eager'])),
    ('transformer_mlm_train', dict(
        model=_BERT, task='mlm', batch=32, seq_len=128, full_length=True,
        peers=['peer_bert_mlm.py --task mlm --mode eager'])),
    ('bilstm_cls_train', dict(
        model=dict(name='rnn', embed_dim=128, hidden_dim=256, num_layers=1, cell='lstm',
                   bidirectional=True, dropout=0.0, pooling='mean', head_dropout=0.0),
        task='classify', batch=64, seq_len=64, full_length=False,
        peers=['peer_lstm_cls.py --mode eager'])),
    ('cnn_cls_train', dict(
        model=dict(name='cnn', embed_dim=128, filter_widths=(3, 4, 5), num_filters=100,
                   num_layers=1, pooling='max', head_dropout=0.5),
        task='classify', batch=64, seq_len=64, full_length=False,
        peers=['peer_cnn_cls.py --mode eager'])),
    ('transformer_infer', dict(
        model=_BERT, task='infer', batch=64, seq_len=128, full_length=True,
        peers=['peer_bert_infer.py --mode inference_mode', 'peer_bert_infer.py --mode compile'])),
    # The published encoder: float32 against PyTorch's float32 modes; our bfloat16 compute
    # (model.dtype) against its bfloat16 autocast, the mode a PyTorch user on this CPU would pick.
    ('minilm_cls_train', dict(
        model=_MINILM, vocab=MINILM_VOCAB, task='classify', batch=32, seq_len=128,
        full_length=True,
        peers=['peer_minilm.py --task cls --mode eager', 'peer_minilm.py --task cls --mode compile'])),
    ('minilm_cls_train_bf16', dict(
        model=dict(_MINILM, dtype='bfloat16'), vocab=MINILM_VOCAB, task='classify', batch=32,
        seq_len=128, full_length=True, peers=['peer_minilm.py --task cls --mode bf16'])),
    ('minilm_infer', dict(
        model=_MINILM, vocab=MINILM_VOCAB, task='infer', batch=64, seq_len=128, full_length=True,
        peers=['peer_minilm.py --task infer --mode eager',
               'peer_minilm.py --task infer --mode compile'])),
    ('minilm_infer_bf16', dict(
        model=dict(_MINILM, dtype='bfloat16'), vocab=MINILM_VOCAB, task='infer', batch=64,
        seq_len=128, full_length=True, peers=['peer_minilm.py --task infer --mode bf16'])),
])
VOCAB = 8192


def synthetic_batches(case: dict, n: int, seed: int = 0) -> list:
  """n batches of the case's shape: tokens int32 [B, T] (ids >= 4, 0 = padding), label, weight."""
  import numpy as np
  rng = np.random.default_rng(seed)
  b, t = case['batch'], case['seq_len']
  out = []
  for _ in range(n):
    tokens = rng.integers(4, case.get('vocab', VOCAB), size=(b, t)).astype(np.int32)
    tokens[:, 0] = 2  # [CLS]
    if not case['full_length']:
      lengths = rng.integers(t // 2, t + 1, size=b)
      tokens[np.arange(t)[None, :] >= lengths[:, None]] = 0
    out.append({'tokens': tokens, 'label': rng.integers(0, 2, b).astype(np.int32),
                'weight': np.ones(b, np.float32)})
  return out


def run_one(name: str, warmup: int, steps: int) -> dict:
  """Times one of our cases in this process; returns its result in the peers' JSON format."""
  import functools

  import jax
  import numpy as np

  from textcls_jax import config_base, masking, models, parallel, predict, tasks, train, train_state
  from textcls_jax import compile_cache, xla_options
  from textcls_jax import vocab as special_ids

  cache_dir = compile_cache.enable()  # $TEXTCLS_JAX_COMPILATION_CACHE, set by the driver.
  case = CASES[name]
  config = config_base.base_config()
  config.model = getattr(config_base, f'{case["model"]["name"]}_model')()
  config.model.update(case['model'])
  config.optim.warmup_steps = 10  # The peers use a constant rate; ours warms up, then decays.
  b, t = case['batch'], case['seq_len']
  vocab = case.get('vocab', VOCAB)
  batches = synthetic_batches(case, 8)
  rng = jax.random.PRNGKey(0)
  if case['task'] == 'mlm':
    k = masking.num_predictions(t, config.mlm.rate)
    model = models.build_masked_lm(config.model, vocab, pad_id=0)
    init_inputs = (np.ones((1, t), np.int32), np.zeros((1, k), np.int32))
    objective = functools.partial(
        tasks.mlm_objective, vocab_size=vocab, rate=config.mlm.rate,
        mask_fraction=config.mlm.mask_fraction, random_fraction=config.mlm.random_fraction,
        max_predictions=k, special=special_ids.SENTENCEPIECE)
    for batch in batches:
      del batch['label']
  else:
    model = models.build_classifier(config.model, vocab, 2, pad_id=0)
    init_inputs = (np.ones((1, t), np.int32),)
    objective = tasks.classification_objective
  state = train_state.create_train_state(config, model, init_inputs, rng)
  params = sum(x.size for x in jax.tree.leaves(state.params))

  if case['task'] == 'infer':
    forward = predict.probabilities(model.apply,
                                    xla_options.for_step(config.model.name, training=False))
    variables = jax.device_put(state.params)
    def run(i):
      return np.asarray(forward(variables, batches[i % len(batches)]['tokens']))[0, 0]
  else:
    dp = parallel.DataParallel('jit', jax.devices()[:1])
    state = dp.put_state(state)
    step = dp.compile_train_step(functools.partial(train.train_step, objective=objective),
                                 xla_options.for_step(config.model.name, training=True),
                                 cache_key=f'{name}\n{config.to_json_best_effort(sort_keys=True)}')
    on_device = [dp.put_batch(batch) for batch in batches]
    def run(i):
      nonlocal state
      state, metrics = step(state, on_device[i % len(on_device)], rng)
      return float(metrics['loss_sum'])  # A host read per step, as the peers' loss.item().

  t0 = time.perf_counter()
  run(0)
  first_step_s = time.perf_counter() - t0
  for i in range(1, warmup):
    run(i)
  times = []
  wall0, cpu0 = time.perf_counter(), time.process_time()
  for i in range(warmup, warmup + steps):
    s = time.perf_counter()
    run(i)
    times.append(time.perf_counter() - s)
  cpu_util = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
  med = statistics.median(times)
  return dict(benchmark=name, impl='textcls-jax', mode='jit', batch=b, seq_len=t, params=params,
              first_step_s=round(first_step_s, 3), step_s_median=round(med, 5),
              step_s_min=round(min(times), 5), steps_per_s=round(1 / med, 4),
              tokens_per_s=round(b * t / med, 1), samples_per_s=round(b / med, 2),
              peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
              cpu_util=round(cpu_util, 2), loadavg_1m=round(os.getloadavg()[0], 2),
              compile_cache=bool(cache_dir), jax=jax.__version__,
              python=platform.python_version())


def _peer_dir(peer: str) -> str:
  """Where a peer command's script lives: here (peer_minilm.py) or ../shared/peers."""
  script = shlex.split(peer)[0]
  return HERE if os.path.exists(os.path.join(HERE, script)) else PEERS


def _cpu_seconds() -> tuple[float, float]:
  """(busy, stolen) CPU-seconds of the whole machine so far, from /proc/stat."""
  with open('/proc/stat') as f:
    fields = [int(x) for x in f.readline().split()[1:]]
  hz = os.sysconf('SC_CLK_TCK')
  user, nice, system, _, _, irq, softirq, steal = fields[:8]
  return (user + nice + system + irq + softirq) / hz, steal / hz


def _run_process(cmd: list, cwd: str, env=None) -> dict | None:
  """Runs one benchmark process; its JSON line, with `others_cpu`: the cores that anything else
  (other processes, and the hypervisor's steal) took on average while it ran."""
  busy0, steal0 = _cpu_seconds()
  child0 = resource.getrusage(resource.RUSAGE_CHILDREN)
  wall0 = time.perf_counter()
  proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
  wall = time.perf_counter() - wall0
  busy1, steal1 = _cpu_seconds()
  child1 = resource.getrusage(resource.RUSAGE_CHILDREN)
  lines = [l for l in proc.stdout.splitlines() if l.startswith('{')]
  if proc.returncode or not lines:
    print(f'  FAILED ({proc.returncode}): {shlex.join(cmd)}\n{proc.stderr[-2000:]}', file=sys.stderr)
    return None
  ours = (child1.ru_utime + child1.ru_stime) - (child0.ru_utime + child0.ru_stime)
  result = json.loads(lines[-1])
  result['others_cpu'] = round(max(0.0, (busy1 - busy0) - ours + (steal1 - steal0)) / wall, 3)
  return result


def summarize(runs: list, max_others_cpu: float) -> tuple[list, int]:
  """Per case, the median over kept reps, ours vs the fastest peer mode; and how many runs were
  dropped. A run is dropped when anything else took more than `max_others_cpu` cores on average
  while it ran (its own cpu_util is no such sign: a program that leaves a core idle is just
  slower)."""
  kept = [r for r in runs if r.get('others_cpu', 0) <= max_others_cpu]
  by = collections.defaultdict(list)
  for r in kept:
    by[(r['case'], r['impl_cmd'])].append(r)
  med = lambda rs, key: statistics.median(r[key] for r in rs)
  cases = []
  for name, case in CASES.items():
    ours = by.get((name, 'ours'), [])
    if not ours:
      continue
    cold = [r['first_step_s'] for r in ours if not r.get('warm_cache')]
    warm = [r['first_step_s'] for r in ours if r.get('warm_cache')]
    row = {'case': name, 'ours_tokens_per_s': round(med(ours, 'tokens_per_s'), 1),
           'ours_first_step_s_cold': round(statistics.median(cold), 2) if cold else None,
           'ours_first_step_s_warm': round(statistics.median(warm), 2) if warm else None,
           'ours_peak_rss_mb': round(max(r['peak_rss_mb'] for r in ours)), 'ours_reps': len(ours)}
    peers = [(cmd, by[(name, cmd)]) for cmd in case['peers'] if by.get((name, cmd))]
    if peers:
      cmd, best = max(peers, key=lambda p: med(p[1], 'tokens_per_s'))
      row.update(peer_mode=cmd.split('--mode ')[-1],
                 peer_tokens_per_s=round(med(best, 'tokens_per_s'), 1),
                 ratio=round(med(ours, 'tokens_per_s') / med(best, 'tokens_per_s'), 3),
                 peer_first_step_s=round(med(best, 'first_step_s'), 2),
                 peer_peak_rss_mb=round(max(r['peak_rss_mb'] for r in best)), peer_reps=len(best))
    cases.append(row)
  return cases, len(runs) - len(kept)


def table(runs: list, max_others_cpu: float) -> str:
  """Markdown: per case, median tokens/s over kept reps, ours vs the fastest peer mode."""
  from textcls_jax import results
  cases, dropped = summarize(runs, max_others_cpu)
  lines = results.window_table(cases)
  if dropped:
    lines.append(f'\n{dropped} run(s) dropped: other work took more than {max_others_cpu} '
                 'cores while they ran.')
  return '\n'.join(lines)


def record(runs: list, max_others_cpu: float, started: float, results_dir: str) -> str:
  """Writes the window as results/vs_peers/<date>T<time>.json (textcls_jax.results)."""
  from textcls_jax import results
  cases, dropped = summarize(runs, max_others_cpu)
  start, end = time.gmtime(started), time.gmtime()
  window = {'kind': 'vs_peers',
            'name': time.strftime('%Y-%m-%d %H:%M', start) + time.strftime('-%H:%M UTC', end),
            'cases': cases, 'dropped': dropped, 'max_others_cpu': max_others_cpu,
            **results.provenance(['python', 'benchmarks/vs_peers.py'] + sys.argv[1:]),
            'notes': [], 'runs': runs}
  return results.write(os.path.join(results_dir, 'vs_peers',
                                    time.strftime('%Y-%m-%dT%H%M.json', start)), window)


def main():
  ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  ap.add_argument('--case', action='append', choices=list(CASES),
                  help='run only these cases (repeatable); default: all')
  ap.add_argument('--reps', type=int, default=3)
  ap.add_argument('--warmup', type=int, default=5, help='untimed steps, the first included')
  ap.add_argument('--steps', type=int, default=20, help='timed steps')
  ap.add_argument('--peer_python', default='', help="the peers' venv python; empty: ours only")
  ap.add_argument('--out', default='', help='JSONL file of every run (default: a temporary one)')
  ap.add_argument('--max_others_cpu', type=float, default=0.2,
                  help='drop runs during which other work took more cores than this on average')
  ap.add_argument('--table', default='', help='only print the table of this JSONL file')
  ap.add_argument('--one', action='store_true', help='run one case (--case) in this process')
  ap.add_argument('--results_dir', default=os.path.join(ROOT, 'results'),
                  help='where a window with the peers is recorded (vs_peers/<date>T<time>.json); '
                       'empty: not recorded')
  args = ap.parse_args()
  names = args.case or list(CASES)
  if args.table:
    with open(args.table) as f:
      print(table([json.loads(l) for l in f if l.strip()], args.max_others_cpu))
    return
  if args.one:
    print(json.dumps(run_one(names[0], args.warmup, args.steps)), flush=True)
    return

  scratch = tempfile.mkdtemp(prefix='vs_peers-')
  out = args.out or os.path.join(scratch, 'runs.jsonl')
  cache = os.path.join(scratch, 'jax-cache')  # Empty: rep 1 compiles cold.
  env = dict(os.environ, TEXTCLS_JAX_COMPILATION_CACHE=cache, PYTHONPATH=ROOT)
  runs, started = [], time.time()
  for rep in range(1, args.reps + 1):
    for name in names:
      cmds = [('ours', [sys.executable, os.path.abspath(__file__), '--one', '--case', name,
                        f'--warmup={args.warmup}', f'--steps={args.steps}'], ROOT)]
      if args.peer_python:
        cmds += [(peer, [os.path.abspath(args.peer_python)] + shlex.split(peer) +
                  [f'--warmup={args.warmup}', f'--steps={args.steps}'], _peer_dir(peer))
                 for peer in CASES[name]['peers']]
      for label, cmd, cwd in cmds:
        print(f'[{time.strftime("%H:%M:%S")}] rep {rep}: {name}: {label}', file=sys.stderr)
        result = _run_process(cmd, cwd, env if label == 'ours' else None)
        if result is None:
          continue
        result.update(case=name, impl_cmd=label, rep=rep, warm_cache=label == 'ours' and rep > 1)
        runs.append(result)
        with open(out, 'a') as f:
          f.write(json.dumps(result) + '\n')
  print(f'\n{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; runs in {out}\n')
  print(table(runs, args.max_others_cpu))
  if args.peer_python and args.results_dir and runs:
    print(f'\nRecorded in {record(runs, args.max_others_cpu, started, args.results_dir)} '
          '(python -m textcls_jax.results makes the docs\' tables)')


if __name__ == '__main__':
  main()
