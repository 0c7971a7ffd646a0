"""The benchmarks: vs_peers.py (the peers' shapes, the table's ratios and contention filter),
finetune_cost.py (full fine-tuning against LoRA) and gpu_step.py (what gpu_check.sh measures)."""

import pathlib
import sys

import pytest


sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / 'benchmarks'))
import vs_peers  # noqa: E402


def test_synthetic_batches_have_the_peers_shapes_and_lengths():
  lstm = vs_peers.synthetic_batches(vs_peers.CASES['bilstm_cls_train'], 2)
  assert [b['tokens'].shape for b in lstm] == [(64, 64)] * 2
  lengths = (lstm[0]['tokens'] != 0).sum(1)
  assert lengths.min() >= 32 and lengths.max() <= 64 and len(set(lengths)) > 5
  full = vs_peers.synthetic_batches(vs_peers.CASES['transformer_infer'], 1)[0]['tokens']
  assert full.shape == (64, 128) and (full != 0).all() and (full[:, 0] == 2).all()
  minilm = vs_peers.synthetic_batches(vs_peers.CASES['minilm_cls_train'], 1)[0]['tokens']
  assert minilm.shape == (32, 128) and minilm.max() < 30522 and minilm.max() > 8192


def test_the_minilm_cases_state_the_published_encoder_and_find_their_peer_script():
  from textcls_jax import config_base
  stated = config_base.bert_model(384, 6, 12, 1536).to_dict()
  for name in ('minilm_cls_train', 'minilm_cls_train_bf16', 'minilm_infer', 'minilm_infer_bf16'):
    case = vs_peers.CASES[name]
    assert {k: v for k, v in case['model'].items() if k != 'dtype'}.items() <= stated.items()
    assert case['model'].get('dtype', 'float32') == ('bfloat16' if 'bf16' in name else 'float32')
    for peer in case['peers']:
      assert vs_peers._peer_dir(peer) == vs_peers.HERE, peer
  assert vs_peers._peer_dir('peer_cnn_cls.py --mode eager') == vs_peers.PEERS


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


def test_a_window_is_recorded_as_results_data_that_the_speed_page_is_made_from(tmp_path):
  import time
  from textcls_jax import results
  peer = vs_peers.CASES['cnn_cls_train']['peers'][0]
  runs = [_run('cnn_cls_train', 'ours', t, r, warm=r > 1) for r, t in [(1, 300), (2, 330), (3, 310)]]
  runs += [_run('cnn_cls_train', peer, t, r) for r, t in [(1, 200), (2, 210), (3, 190)]]
  path = vs_peers.record(runs, 0.2, time.time() - 60, str(tmp_path / 'results'))
  [window] = results.load_all(str(tmp_path))
  assert window['_path'] == str(pathlib.Path(path).relative_to(tmp_path))
  assert window['runs'] == runs and window['machine'] and window['date']
  [case] = window['cases']
  assert case['ours_tokens_per_s'] == 310 and case['peer_tokens_per_s'] == 200
  assert case['ratio'] == round(310 / 200, 3) and case['ours_reps'] == 3
  page = results.speed_page([window])
  assert f'| **{310 / 200:.2f}** |' in page and '| 310 | 200 (eager) |' in page


def test_the_finetune_cost_of_lora_is_measured_beside_full_fine_tuning_and_tabulated(tmp_path):
  import finetune_cost
  from textcls_jax import config_base, results
  full = config_base.base_config()
  full.model = config_base.bert_model(32, 2, 4, 64, max_len=16)
  full.data.max_len, full.train.batch_size, full.tokenizer.vocab_size = 16, 8, 200
  lora = full.copy_and_resolve_references()
  lora.finetune.lora_rank = 4
  cases = [finetune_cost.measure(full, 'full', 3), finetune_cost.measure(lora, 'lora', 3)]
  assert cases[0]['trainable_parameters'] == cases[0]['parameters']
  # 2 blocks x (query, value) x (32 x 4 + 4 x 32) adapters, the pooler and a 2-class head.
  assert cases[1]['trainable_parameters'] == 2 * 2 * 256 + (32 * 32 + 32) + (32 * 2 + 2)
  assert cases[1]['optimizer_state_mb'] < cases[0]['optimizer_state_mb'] / 10
  assert all(c['step_ms'] > 0 and c['step_scratch_mb'] > 0 for c in cases)
  path = finetune_cost.record(cases, ['python', 'benchmarks/finetune_cost.py'],
                              str(tmp_path / 'results'))
  [window] = results.load_all(str(tmp_path))
  assert window['_path'] == str(pathlib.Path(path).relative_to(tmp_path))
  page = '\n'.join(results.cost_section([window]))
  assert '| `lora` | 8 x 16 | 2,146 of ' in page and '## Fine-tuning cost' in page


def test_the_gpu_check_step_runs_here_at_a_tiny_size(capsys):
  """benchmarks/gpu_step.py, which benchmarks/gpu_check.sh runs on a GPU: its train step and its
  figures, at a tiny size on CPU (no MFU without a known peak)."""
  import json
  import gpu_step
  assert gpu_step.main(['--layers=2', '--hidden=32', '--heads=4', '--mlp=64', '--vocab=100',
                        '--batch=4', '--seq_len=16', '--steps=3', '--attention_dropout=0',
                        '--peak_tflops=1']) == 0
  row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
  assert row['case'] == 'train_step' and row['tokens_per_s'] > 0 and row['step_ms'] > 0
  # 6 x (2 blocks of 4 x 32 x 32 + 4 x 32 + 2 x 32 x 64 + 64 + 32 + 4 x 32, the pooler and the
  # embedding LayerNorm, the head) + attention's 12 x 2 x 16 x 32, per token.
  dense = 2 * (4 * 32 * 32 + 4 * 32 + 2 * 32 * 64 + 64 + 32 + 4 * 32) + (32 * 32 + 32) + 64 + (
      32 * 2 + 2)
  assert row['model_flops_per_token'] == 6 * dense + 12 * 2 * 16 * 32
  assert row['mfu'] == pytest.approx(row['model_flops_per_token'] * row['tokens_per_s'] / 1e12,
                                     abs=1e-4)
