"""benchmarks/vs_peers.py: the peers' shapes, and the table's ratios and contention filter."""

import pathlib
import sys


sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / 'benchmarks'))
import vs_peers  # noqa: E402


def test_synthetic_batches_have_the_peers_shapes_and_lengths():
  lstm = vs_peers.synthetic_batches(vs_peers.CASES['bilstm_cls_train'], 2)
  assert [b['tokens'].shape for b in lstm] == [(64, 64)] * 2
  lengths = (lstm[0]['tokens'] != 0).sum(1)
  assert lengths.min() >= 32 and lengths.max() <= 64 and len(set(lengths)) > 5
  full = vs_peers.synthetic_batches(vs_peers.CASES['transformer_infer'], 1)[0]['tokens']
  assert full.shape == (64, 128) and (full != 0).all() and (full[:, 0] == 2).all()


def _run(case, impl, tok, rep, others=0.0, warm=False):
  return {'case': case, 'impl_cmd': impl, 'tokens_per_s': tok, 'rep': rep, 'first_step_s': 1.0,
          'peak_rss_mb': 100.0, 'others_cpu': others, 'warm_cache': warm}


def test_table_takes_medians_over_reps_against_the_fastest_peer_mode_and_drops_contended_runs():
  peers = vs_peers.CASES['transformer_infer']['peers']
  runs = [_run('transformer_infer', 'ours', t, r, warm=r > 1) for r, t in [(1, 100), (2, 120), (3, 110)]]
  runs += [_run('transformer_infer', peers[0], 50, r) for r in (1, 2, 3)]
  runs += [_run('transformer_infer', peers[1], t, r) for r, t in [(1, 80), (2, 100), (3, 90)]]
  runs.append(_run('transformer_infer', 'ours', 10, 4, others=0.9))  # Contended: dropped.
  text = vs_peers.table(runs, max_others_cpu=0.2)
  row = next(line for line in text.splitlines() if line.startswith('| transformer_infer'))
  assert '| 110 |' in row and '90 (compile)' in row and f'**{110 / 90:.2f}**' in row
  assert '1 run(s) dropped' in text
