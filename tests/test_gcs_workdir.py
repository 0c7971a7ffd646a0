"""A workdir on gs://: a whole run, its resume and predict, against a local GCS emulator."""

import json
import subprocess
import sys

from textcls_jax import workdir as wd

from test_train import REPO

RUN = ['--config=configs/tiny.py', '--config.tokenizer.vocab_size=60', '--config.data.max_len=16',
       '--config.train.batch_size=16', '--config.train.log_every_steps=5',
       '--config.train.eval_every_steps=10', '--config.checkpoint.every_steps=10',
       '--config.optim.learning_rate=1e-2', '--config.optim.warmup_steps=5']


def _run(gcs, *args, module='textcls_jax.main'):
  result = subprocess.run([sys.executable, '-m', module, *args], cwd=REPO, env=gcs.env,
                          capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  return result.stdout + result.stderr


def test_train_resume_and_predict_on_gcs(gcs_env, data_dir, tmp_path):
  from etils import epath
  workdir = gcs_env.url('run')
  source = f'--config.data.source=tsv:{data_dir}'
  _run(gcs_env, *RUN, source, f'--workdir={workdir}', '--config.train.num_steps=20')
  root = epath.Path(workdir)
  for name in (wd.CONFIG, wd.LABELS, wd.TOKENIZER, wd.METRICS):
    assert (root / name).exists(), name
  steps = lambda: sorted(int(p.name) for p in (root / wd.CHECKPOINTS).iterdir() if p.name.isdigit())
  assert steps() == [10, 20]
  assert not (REPO / 'gs:').exists()  # Nothing went to a local folder named like the URL.

  out = _run(gcs_env, *RUN, source, f'--workdir={workdir}', '--config.train.num_steps=40')
  assert 'Resuming from step 20' in out
  assert steps()[-1] == 40
  rows = [json.loads(line) for line in (root / wd.METRICS).read_text().splitlines()]
  assert [(r['step'], r['split']) for r in rows if r['split'] == 'dev'] == [
      (10, 'dev'), (20, 'dev'), (30, 'dev'), (40, 'dev')]
  assert [r['step'] for r in rows if r['split'] == 'train'] == list(range(5, 41, 5))
  # TensorBoard events, written locally (TensorFlow cannot reach the emulator) and copied over.
  events = [p.name for p in (root / wd.TENSORBOARD).iterdir()]
  assert len(events) == 2 and all(n.startswith('events.out.tfevents.') for n in events), events

  inputs = tmp_path / 'in.txt'
  inputs.write_text('lovely story\npoor plot\n')
  out = _run(gcs_env, f'--workdir={workdir}', f'--input={inputs}', f'--output={tmp_path / "o"}',
             module='textcls_jax.predict')
  lines = [json.loads(line) for line in (tmp_path / 'o').read_text().splitlines()]
  assert [(l['text'], l['label']) for l in lines] == [('lovely story', 'pos'), ('poor plot', 'neg')]
  from textcls_jax.predict import Predictor
  assert [o['label'] for o in Predictor.from_workdir(workdir).predict(['superb', 'awful'])] == [
      'pos', 'neg']
