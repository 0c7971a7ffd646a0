"""Training end to end on tiny synthetic data: learning, resume, the workdir, predict, the CLI."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from textcls_jax import train
from textcls_jax import vocab as special_ids
from textcls_jax import workdir as wd

from conftest import write_sentiment_tsv

REPO = pathlib.Path(__file__).resolve().parents[1]


def tiny_config(data_dir, family='cnn', steps=40):
  config = _load_config('tiny')
  config.data.source = f'tsv:{data_dir}'
  config.tokenizer.vocab_size = 60
  config.data.max_len = 16
  config.train.num_steps = steps
  config.train.batch_size = 16
  config.train.log_every_steps = 10
  config.train.eval_every_steps = 20
  config.checkpoint.every_steps = 20
  config.optim.learning_rate = 1e-2
  config.optim.warmup_steps = 5
  if family != 'cnn':
    from textcls_jax import config_base
    config.model = getattr(config_base, f'{family}_model')()
    config.model.update({'rnn': dict(embed_dim=16, hidden_dim=16),
                         'transformer': dict(hidden_dim=16, num_layers=1, num_heads=2,
                                             mlp_dim=32, max_len=16)}[family])
  return config


def _load_config(name):
  from textcls_jax import config_base
  return config_base.config_file(str(REPO / 'configs' / f'{name}.py'))


def _metrics(workdir):
  with open(os.path.join(workdir, wd.METRICS)) as f:
    return [json.loads(line) for line in f]


@pytest.mark.parametrize('family', ['cnn', 'rnn', 'transformer'])
def test_training_learns_and_fills_the_workdir(data_dir, tmp_path, family):
  config = tiny_config(data_dir, family, steps=60)
  figures = train.train_and_evaluate(config, str(tmp_path))
  rows = _metrics(tmp_path)
  train_losses = [r['loss'] for r in rows if r['split'] == 'train']
  assert train_losses[-1] < train_losses[0]
  assert figures['accuracy'] >= 0.9, figures  # The keyword decides the label.
  assert figures['count'] == 100
  for name in (wd.CONFIG, wd.LABELS, wd.TOKENIZER):
    assert (tmp_path / name).exists()
  assert wd.read_json(tmp_path / wd.LABELS) == {'names': ['neg', 'pos'], 'kind': 'str'}
  assert wd.read_json(tmp_path / wd.CONFIG)['model']['name'] == family
  # Kept: the last two, and the best by dev accuracy (checkpoint.best_metric) if it is older.
  dev = {r['step']: r['accuracy'] for r in rows if r['split'] == 'dev'}
  assert sorted(dev) == [20, 40, 60]
  kept = sorted(int(s) for s in os.listdir(tmp_path / wd.CHECKPOINTS))
  assert kept[-2:] == [40, 60] and len(kept) <= 3, kept
  assert max(dev[s] for s in kept) == max(dev.values()), (kept, dev)
  assert list((tmp_path / wd.TENSORBOARD).iterdir())
  # The run's pictures, and the last dev row's confusion matrix sums to the dev set.
  assert sorted(os.listdir(tmp_path / 'plots')) == ['confusion.png', 'curves.png']
  last_dev = [r for r in rows if r['split'] == 'dev'][-1]
  assert sum(v for k, v in last_dev.items() if k.startswith('confusion/')) == 100


def test_predict_api_and_cli(data_dir, tmp_path):
  config = tiny_config(data_dir, steps=40)
  train.train_and_evaluate(config, str(tmp_path))
  from textcls_jax.predict import Predictor
  # A save that a running training is writing (Orbax's temporary folder) is not a reader's to
  # clean up: predict beside a run leaves it alone.
  unfinished = tmp_path / wd.CHECKPOINTS / '50.orbax-checkpoint-tmp-1796150000000000'
  unfinished.mkdir()
  predictor = Predictor.from_workdir(str(tmp_path))
  assert unfinished.is_dir()
  out = predictor.predict(['the film was superb', 'it is awful', ''])
  assert [o['label'] for o in out[:2]] == ['pos', 'neg']
  for o in out:
    assert set(o['probabilities']) == {'neg', 'pos'}
    assert sum(o['probabilities'].values()) == pytest.approx(1.0, abs=1e-4)
  # Batched in order of length (in several batches and buckets), returned in the input's order:
  # the same figures as one text at a time.
  texts = ['a b ' * n + 'superb' if n % 2 else 'awful ' + 'c ' * n for n in (9, 0, 4, 1, 7, 2)]
  together = predictor.predict(texts, batch_size=2)
  alone = [predictor.predict([t])[0] for t in texts]
  assert [o['label'] for o in together] == [o['label'] for o in alone]
  for a, b in zip(together, alone):
    assert a['probabilities'] == pytest.approx(b['probabilities'], abs=1e-5)
  inputs = tmp_path / 'in.txt'
  inputs.write_text('lovely story\npoor plot\n')
  # The environment a user has: not the suite's TF_CPP_MIN_LOG_LEVEL, so predict's own default.
  env = {k: v for k, v in os.environ.items() if k != 'TF_CPP_MIN_LOG_LEVEL'}
  result = subprocess.run(
      [sys.executable, '-m', 'textcls_jax.predict', f'--workdir={tmp_path}', f'--input={inputs}'],
      capture_output=True, text=True, cwd=REPO, timeout=300, env=env)
  assert result.returncode == 0, result.stderr[-2000:]
  lines = [json.loads(line) for line in result.stdout.splitlines()]
  assert [(l['text'], l['label']) for l in lines] == [('lovely story', 'pos'), ('poor plot', 'neg')]
  # Quiet: standard error is one summary line, without TensorFlow's, JAX's or Orbax's chatter;
  # --verbose brings the libraries' INFO lines back.
  summary, = result.stderr.splitlines()
  assert summary.startswith('Classified 2 texts in ') and f'at step {predictor.step})' in summary
  verbose = subprocess.run(
      [sys.executable, '-m', 'textcls_jax.predict', f'--workdir={tmp_path}', f'--input={inputs}',
       '--verbose'], capture_output=True, text=True, cwd=REPO, timeout=300)
  assert verbose.returncode == 0 and verbose.stdout == result.stdout
  assert len(verbose.stderr.splitlines()) > 5 and 'orbax' in verbose.stderr.lower()


@pytest.mark.parametrize('family,fmt', [('rnn', 'tsv'), ('transformer', 'jsonl'),
                                        ('transformer', 'csv')])
def test_predict_serves_each_family_from_each_input_format_and_cuts_long_texts(
    data_dir, tmp_path_factory, family, fmt):
  """The BiLSTM and the Transformer, through the CLI with --format, --text_field and --batch_size,
  give what the API gives; a text longer than data.max_len is cut to it, not refused."""
  import csv
  from textcls_jax.predict import Predictor
  workdir = tmp_path_factory.getbasetemp() / f'predict_{family}'
  if not workdir.exists():  # One training per family.
    train.train_and_evaluate(tiny_config(data_dir, family, steps=40), str(workdir))
  predictor = Predictor.from_workdir(str(workdir))
  long = 'the film was superb and lovely ' * 20  # Far more than data.max_len (16) tokens.
  texts = ['the film was superb', 'it is awful', long]
  expected = predictor.predict(texts)
  cut = predictor.predict([long + long])[0]  # Both cut to the same 16 tokens.
  assert cut["label"] == expected[2]["label"]
  assert cut["probabilities"] == pytest.approx(expected[2]["probabilities"], abs=1e-5)
  rows = [{'id': str(i), 'review': t} for i, t in enumerate(texts)]
  path = workdir.parent / f'{family}_input.{fmt}'
  if fmt == 'jsonl':
    path.write_text(''.join(json.dumps(r) + '\n' for r in rows))
  else:
    with open(path, 'w', newline='') as f:
      writer = csv.DictWriter(f, ['id', 'review'], delimiter='\t' if fmt == 'tsv' else ',')
      writer.writeheader()
      writer.writerows(rows)
  result = subprocess.run(
      [sys.executable, '-m', 'textcls_jax.predict', f'--workdir={workdir}', f'--input={path}',
       f'--format={fmt}', '--text_field=review', '--batch_size=2'],
      capture_output=True, text=True, cwd=REPO, timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  lines = [json.loads(line) for line in result.stdout.splitlines()]
  assert [l['text'] for l in lines] == texts
  for line, want in zip(lines, expected):
    assert line['label'] == want['label']
    assert line['probabilities'] == pytest.approx(want['probabilities'], abs=1e-5)


def _main(workdir, *overrides, **kw):
  return subprocess.Popen(
      [sys.executable, '-m', 'textcls_jax.main', '--config=configs/tiny.py', f'--workdir={workdir}',
       *overrides], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def test_unknown_config_key_names_the_valid_ones(tmp_path):
  proc = _main(tmp_path, '--config.train.num_step=5')
  out, _ = proc.communicate(timeout=120)
  assert proc.returncode != 0
  assert "unknown config key 'train.num_step'" in out and 'num_steps' in out
  assert not (tmp_path / wd.CONFIG).exists()


@pytest.mark.parametrize('case', ['unseen_dev_label', 'missing_column', 'non_utf8', 'missing_file'])
def test_bad_input_gives_one_line_and_leaves_no_files(tmp_path, case):
  data = tmp_path / 'data'
  data.mkdir()
  write_sentiment_tsv(data / 'train.tsv', 50, seed=0)
  write_sentiment_tsv(data / 'dev.tsv', 10, seed=1)
  source = f'tsv:{data}'
  extra = []
  if case == 'unseen_dev_label':
    with open(data / 'dev.tsv', 'a') as f:
      f.write('a so-so film\tmixed\n')
    expected = "dev.tsv:12: label 'mixed' never appears in the training split (its labels: neg, pos)"
  elif case == 'missing_column':
    extra = ['--config.data.label_field=sentiment']
    expected = "train.tsv:1: no label column 'sentiment'; the columns are: 'sentence', 'label'"
  elif case == 'non_utf8':
    with open(data / 'train.tsv', 'ab') as f:
      f.write(b'caf\xe9 \x93good\x94\tpos\n')
    expected = 'train.tsv:52: not valid utf-8 (byte 0xe9'
  else:
    source = f'tsv:{data}/nothere.tsv'
    expected = f'file not found: {data}/nothere.tsv'
  workdir = tmp_path / 'run'
  proc = _main(workdir, f'--config.data.source={source}', *extra)
  out, _ = proc.communicate(timeout=300)
  assert proc.returncode == 1
  last = out.strip().splitlines()[-1]
  assert last.startswith('error: ') and expected in last, out[-2000:]
  assert 'Traceback' not in out
  assert not workdir.exists() or set(os.listdir(workdir)) <= {'.lock'}


def test_sigterm_saves_and_exits_cleanly_and_a_second_run_is_refused(data_dir, tmp_path):
  args = [f'--config.data.source=tsv:{data_dir}', '--config.tokenizer.vocab_size=60',
          '--config.data.max_len=16', '--config.train.num_steps=100000',
          '--config.checkpoint.every_steps=100000', '--config.train.eval_every_steps=100000',
          '--config.train.log_every_steps=20']
  first = _main(tmp_path, *args)
  deadline = time.time() + 240
  while time.time() < deadline and not (tmp_path / wd.METRICS).exists():
    time.sleep(0.1)
  while time.time() < deadline and not (tmp_path / wd.METRICS).read_text().strip():
    time.sleep(0.1)  # Training has started: the first progress line is written.
  second = _main(tmp_path, *args)
  out2, _ = second.communicate(timeout=240)
  assert second.returncode == 1
  assert f'{tmp_path} is in use by pid {first.pid}' in out2.strip().splitlines()[-1]
  first.send_signal(signal.SIGTERM)
  out1, _ = first.communicate(timeout=240)
  assert first.returncode == 0, out1[-3000:]
  stopped = int(out1.split('Stopped by SIGTERM at step ')[1].split(';')[0])
  assert stopped > 0
  assert sorted(int(s) for s in os.listdir(tmp_path / wd.CHECKPOINTS)) == [stopped]
  # The lock died with the process: the same command runs again and resumes there.
  third = _main(tmp_path, *args[:3], f'--config.train.num_steps={stopped + 20}', *args[4:])
  out3, _ = third.communicate(timeout=300)
  assert third.returncode == 0, out3[-3000:]
  assert f'Resuming from step {stopped}' in out3


def test_ctrl_c_on_the_command_line_saves_and_exits_with_status_0(data_dir, tmp_path):
  run = _main(tmp_path, f'--config.data.source=tsv:{data_dir}', '--config.tokenizer.vocab_size=60',
              '--config.data.max_len=16', '--config.train.num_steps=100000',
              '--config.checkpoint.every_steps=100000', '--config.train.eval_every_steps=100000',
              '--config.train.log_every_steps=20')
  deadline = time.time() + 240
  while time.time() < deadline and not (
      (tmp_path / wd.METRICS).exists() and (tmp_path / wd.METRICS).read_text().strip()):
    time.sleep(0.1)  # Training has started.
  run.send_signal(signal.SIGINT)  # What Ctrl-C sends.
  out, _ = run.communicate(timeout=240)
  assert run.returncode == 0, out[-3000:]
  assert 'KeyboardInterrupt' not in out and 'Traceback' not in out, out[-3000:]
  stopped = int(out.split('Stopped by SIGINT at step ')[1].split(';')[0])
  assert sorted(int(s) for s in os.listdir(tmp_path / wd.CHECKPOINTS)) == [stopped]


def test_real_sst2_short_run_beats_a_floor(shared_data, tmp_path):
  """A short CNN run on the real SST-2 files: 500 steps (about 30 s here) must pass 0.78 dev."""
  config = _load_config('sst2_cnn')
  config.data.source = f'tsv:{shared_data / "sst2"}'
  config.tokenizer.vocab_size = 4000
  config.tokenizer.max_chars = 2_000_000
  config.train.num_steps = 500
  config.train.eval_every_steps = 500
  config.checkpoint.every_steps = 500
  config.optim.warmup_steps = 50
  figures = train.train_and_evaluate(config, str(tmp_path))
  assert figures['count'] == 872  # Every dev sentence, once.
  assert figures['accuracy'] >= 0.78, figures


@pytest.mark.parametrize('task,family', [('classify', 'cnn'), ('mlm', 'transformer')])
def test_one_step_of_a_batch_equals_its_accumulated_micro_batches(task, family):
  """train.grad_accum_steps=4 on 16 rows: the same update as the 16 rows at once, to float32
  rounding (dropout off: each micro-batch draws its own dropout; the MLM masks are per row)."""
  import functools

  import jax
  import jax.numpy as jnp
  import numpy as np

  from test_models import small_model_config
  from textcls_jax import config_base, masking, models, tasks, train_state

  config = config_base.base_config()
  config.model = small_model_config(family)
  for key in ('dropout', 'head_dropout', 'attention_dropout'):
    if key in config.model:
      config.model[key] = 0.0
  config.optim.warmup_steps = 1
  # Some gradients are zero in exact arithmetic (attention key biases) and rounding noise in
  # float32; Adam with a tiny eps makes that noise full-size steps (as in test_parallel.py).
  config.optim.eps = 1e-3
  vocab, length, rows = 50, 16, 16
  rng = np.random.default_rng(0)
  tokens = rng.integers(4, vocab, size=(rows, length)).astype(np.int32)
  tokens[:, 0] = 2
  for i, n in enumerate(rng.integers(3, length, size=rows)):
    tokens[i, n:] = 0
  batch = {'tokens': jnp.asarray(tokens), 'weight': jnp.ones(rows, jnp.float32).at[5].set(0.0)}
  if task == 'mlm':
    k = masking.num_predictions(length, 0.15)
    model = models.build_masked_lm(config.model, vocab, pad_id=0)
    inputs = (jnp.ones((1, length), jnp.int32), jnp.zeros((1, k), jnp.int32))
    objective = functools.partial(tasks.mlm_objective, vocab_size=vocab, rate=0.15,
                                  mask_fraction=0.8, random_fraction=0.1, max_predictions=k,
                                special=special_ids.SENTENCEPIECE)
  else:
    model = models.build_classifier(config.model, vocab, 3, pad_id=0)
    inputs = (jnp.ones((1, length), jnp.int32),)
    objective = tasks.classification_objective
    batch['label'] = jnp.asarray(rng.integers(0, 3, rows).astype(np.int32))
  state = train_state.create_train_state(config, model, inputs, jax.random.PRNGKey(0))
  results = {}
  for accum in (1, 4):
    step = jax.jit(functools.partial(train.train_step, objective=objective,
                                     grad_accum_steps=accum))
    new, metrics = step(state, batch, jax.random.PRNGKey(1))
    new, metrics = step(new, batch, jax.random.PRNGKey(1))  # A second step: Adam's moments too.
    results[accum] = jax.device_get((new.params, new.opt_state, metrics))
  (params_1, opt_1, metrics_1), (params_4, opt_4, metrics_4) = results[1], results[4]
  for a, b in zip(jax.tree.leaves(params_4), jax.tree.leaves(params_1)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
  for a, b in zip(jax.tree.leaves(opt_4), jax.tree.leaves(opt_1)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7)
  assert metrics_4.keys() == metrics_1.keys()
  for key in metrics_1:
    np.testing.assert_allclose(metrics_4[key], metrics_1[key], rtol=1e-5, atol=1e-5, err_msg=key)
  assert float(metrics_1['steps']) == 1.0
  moved = max(float(np.abs(a - np.asarray(b)).max())
              for a, b in zip(jax.tree.leaves(params_1), jax.tree.leaves(state.params)))
  assert moved > 1e-4  # Two real updates, not a comparison of two unchanged states.


def test_a_batch_that_the_micro_batches_cannot_split_is_refused_naming_the_key(tmp_path, data_dir):
  config = tiny_config(data_dir)
  config.train.batch_size = 16
  config.train.grad_accum_steps = 3
  from textcls_jax.config_checks import ConfigError
  with pytest.raises(ConfigError, match=r'train.batch_size=16 gives each of the 1 device\(s\) 16 rows, '
                                        r'which train.grad_accum_steps=3 does not split evenly'):
    train.train_and_evaluate(config, str(tmp_path / 'run'))
  assert not (tmp_path / 'run').exists()
