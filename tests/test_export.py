"""Export to HuggingFace's format (textcls_jax/export.py; models/hf_bert.py's table read backwards):
a classifier fine-tuned from a published BERT checkpoint, written as BertForSequenceClassification,
gives in transformers (AutoModelForSequenceClassification with AutoTokenizer, and the
text-classification pipeline) the labels and probabilities that our Predictor gives.

- The inverse table: our parameters -> BertForSequenceClassification's tensors -> ours again is
  exact, and the names and shapes are the ones transformers' own model has.
- End to end: a tiny random BertModel (test_published_encoder's), fine-tuned a few steps,
  exported by the CLI, read by transformers: the same token ids, labels and probabilities (to
  float32 rounding) on 1,000 SST-2 sentences where ../shared/data has them (most of their words
  are [UNK] in the tiny vocabulary, and many are longer than data.max_len, so truncation is
  exercised), on a handful of inline sentences elsewhere.
- Refusals, each one line with nothing written: an --out that is not empty (the CLI), a
  SentencePiece workdir, a workdir not trained to classify, a model BERT cannot express.
"""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip('torch')
transformers = pytest.importorskip('transformers')

import jax  # noqa: E402
from conftest import REPO, SHARED_DATA  # noqa: E402
from test_published_encoder import VOCAB, _config, _save_bert  # noqa: E402
from test_train import tiny_config  # noqa: E402

from textcls_jax import config_base  # noqa: E402
from textcls_jax import export  # noqa: E402
from textcls_jax import models  # noqa: E402
from textcls_jax import train  # noqa: E402
from textcls_jax import workdir as wd  # noqa: E402
from textcls_jax.models import hf_bert  # noqa: E402
from textcls_jax.predict import Predictor  # noqa: E402

TOLERANCE = 1e-4  # Probabilities: float32 on both sides, different kernels.
REAL_TEXTS = 1000
INLINE_TEXTS = [
    'the film was great',
    'a dull plot',
    'It is SUPERB, and lovely!',
    'Naïve café scenes : the story is weak ... and the acting poor',
    'an awful , awful movie ' * 6,  # Longer than data.max_len: truncated.
    '',
    'unseen words only',
]
FILES = ['config.json', 'model.safetensors', 'tokenizer_config.json', 'vocab.txt']


def _flat(tree) -> dict:
  leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
  return {'/'.join(str(getattr(k, 'key', k)) for k in path): np.asarray(leaf)
          for path, leaf in leaves}


def test_the_inverse_table_round_trips_exactly_with_transformers_names_and_shapes():
  model = config_base.bert_model(32, 2, 4, 64, max_len=64, activation='gelu_tanh', dropout=0.2,
                                 attention_dropout=0.05, head_dropout=0.3)
  keys = model.to_dict()
  classifier = models.build_classifier(model, len(VOCAB), 3, pad_id=0)
  fresh = classifier.init(jax.random.PRNGKey(0), np.ones((1, 8), np.int32))['params']
  # Every parameter distinct (a fresh LayerNorm's ones and a bias's zeros would hide a swap).
  rng = np.random.default_rng(0)
  params = jax.tree_util.tree_map(
      lambda x: rng.standard_normal(x.shape).astype(np.float32), fresh)
  tensors = hf_bert.to_hf(params, keys, len(VOCAB), 3)
  config = hf_bert.hf_config(keys, len(VOCAB), ['a', 'b', 'c'], pad_token_id=0)
  assert hf_bert.model_keys(config) == keys
  back = hf_bert.convert(tensors, config)
  assert back.model == keys and back.num_labels == 3 and back.vocab_size == len(VOCAB)
  assert not back.skipped
  ours, theirs = _flat(params), _flat(back.params)
  assert sorted(ours) == sorted(theirs)
  for path in ours:
    np.testing.assert_array_equal(theirs[path], ours[path], err_msg=path)
  # transformers' own model of that config.json: the same names, shapes and dtype.
  reference = transformers.BertForSequenceClassification(transformers.BertConfig(**config))
  state = {k: tuple(v.shape) for k, v in reference.state_dict().items()
           if not k.endswith('position_ids')}
  assert {k: v.shape for k, v in tensors.items()} == state
  assert all(t.dtype == np.float32 and t.flags['C_CONTIGUOUS'] for t in tensors.values())
  assert reference.config.hidden_act == 'gelu_new' and reference.config.num_labels == 3
  # Parameters that are not the model's are named, all at once.
  params['head'].pop('out')
  params['encoder']['pooler']['kernel'] = np.zeros((32, 8), np.float32)
  with pytest.raises(hf_bert.HFCheckpointError, match=(
      r'missing \(2\): head/out/bias, head/out/kernel; misshapen \(1\): '
      r'encoder/pooler/kernel \(32, 8\) \(expected \(32, 32\)\)$')):
    hf_bert.to_hf(params, keys, len(VOCAB), 3)


def test_models_bert_cannot_express_are_named_by_key():
  assert hf_bert.bert_mismatches(config_base.bert_model(32, 2, 4, 64)) == []
  assert hf_bert.bert_mismatches(config_base.cnn_model()) == [
      "model.name 'cnn' (BERT is a Transformer)"]
  ours = ' '.join(hf_bert.bert_mismatches(config_base.transformer_model()))
  for named in ("model.block_norm 'pre'", 'model.pooler False', 'model.embed_norm False',
                'model.type_vocab_size 0'):
    assert named in ours, ours
  electra = config_base.bert_model(32, 2, 4, 64, pooler=False, embed_dim=16, head_hidden_dim=8,
                                   pooling='mean')
  named = ' '.join(hf_bert.bert_mismatches(electra))
  for key in ('model.pooler False', 'model.embed_dim 16', 'model.head_hidden_dim 8',
              "model.pooling 'mean'"):
    assert key in named, named


@pytest.fixture(scope='module')
def fine_tuned(data_dir, tmp_path_factory):
  """A classifier fine-tuned from a tiny random BertModel: a few steps, one checkpoint."""
  root = tmp_path_factory.mktemp('export')
  config = _config(data_dir, _save_bert(root / 'bert'), steps=20)
  run = str(root / 'run')
  train.train_and_evaluate(config, run)
  return run


def _texts() -> list:
  """1,000 SST-2 sentences (all of dev, then train's longest) where ../shared/data has them;
  the inline sentences otherwise."""
  sst2 = SHARED_DATA / 'sst2'
  if not ((sst2 / 'dev.tsv').exists() and (sst2 / 'train.tsv').exists()):
    return INLINE_TEXTS
  def sentences(name):
    lines = (sst2 / name).read_text(encoding='utf-8').splitlines()[1:]
    return [line.split('\t')[0] for line in lines]
  dev = sentences('dev.tsv')[:REAL_TEXTS]
  longest = sorted(set(sentences('train.tsv')) - set(dev), key=lambda t: (-len(t), t))
  return dev + longest[:REAL_TEXTS - len(dev)]


@pytest.fixture
def one_torch_thread():
  """torch on one thread for the test: with a thread per core, every op waits at a barrier for
  the thread that other work on a busy 2-core machine has descheduled, and the pipeline's
  thousand small forward passes crawl."""
  threads = torch.get_num_threads()
  torch.set_num_threads(1)
  yield
  torch.set_num_threads(threads)


def _run_cli(*flags):
  # The environment a user has: not the suite's TF_CPP_MIN_LOG_LEVEL.
  env = {k: v for k, v in os.environ.items() if k != 'TF_CPP_MIN_LOG_LEVEL'}
  return subprocess.run([sys.executable, '-m', 'textcls_jax.export', *flags],
                        capture_output=True, text=True, cwd=REPO, timeout=300, env=env)


def test_an_export_gives_transformers_the_labels_and_probabilities_of_predict(
    fine_tuned, tmp_path, one_torch_thread):
  out = tmp_path / 'hf'
  result = _run_cli(f'--workdir={fine_tuned}', f'--out={out}')
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'Traceback' not in result.stderr, result.stderr
  line, = result.stdout.splitlines()
  assert line.startswith(f'Exported {fine_tuned} at step ') and str(out) in line, line
  assert sorted(os.listdir(out)) == FILES
  assert os.listdir(tmp_path) == ['hf']  # No temporary folder left beside it.

  texts = _texts()
  predictor = Predictor.from_workdir(fine_tuned)
  assert f' at step {predictor.step} ' in line
  ours = predictor.predict(texts)
  names = predictor.labels.names
  with open(out / 'config.json') as f:
    assert json.load(f)['id2label'] == {str(i): n for i, n in enumerate(names)}

  tokenizer = transformers.AutoTokenizer.from_pretrained(str(out))
  model = transformers.AutoModelForSequenceClassification.from_pretrained(str(out)).eval()
  assert type(model).__name__ == 'BertForSequenceClassification'
  assert [model.config.id2label[i] for i in range(len(names))] == names
  # The same ids as our tf.data pipeline: [CLS] pieces [SEP], cut to data.max_len.
  max_len = predictor.config.data.max_len
  special = predictor.tokenizer.special
  pieces = predictor.tokenizer.encode_batch(texts)
  assert tokenizer(texts, truncation=True)['input_ids'] == [
      [special.cls] + p[:max_len - 2] + [special.sep] for p in pieces]
  if texts is not INLINE_TEXTS:
    assert sum(len(p) + 2 > max_len for p in pieces) >= 100  # Truncation is exercised.

  theirs = []
  with torch.no_grad():
    for i in range(0, len(texts), 200):
      batch = tokenizer(texts[i:i + 200], padding=True, truncation=True, return_tensors='pt')
      theirs.append(torch.softmax(model(**batch).logits, -1).numpy())
  theirs = np.concatenate(theirs)
  ours_probs = np.array([[o['probabilities'][n] for n in names] for o in ours])
  assert np.abs(theirs - ours_probs).max() <= TOLERANCE, np.abs(theirs - ours_probs).max()
  assert [names[i] for i in theirs.argmax(-1)] == [o['label'] for o in ours]

  pipe = transformers.pipeline('text-classification', model=str(out), top_k=None,
                               truncation=True)
  scored = pipe(texts)
  piped = np.array([[{r['label']: r['score'] for r in rows}[n] for n in names]
                    for rows in scored])
  assert np.abs(piped - ours_probs).max() <= TOLERANCE, np.abs(piped - ours_probs).max()
  assert [rows[0]['label'] for rows in scored] == [o['label'] for o in ours]


def _assert_refused(workdir, out, match):
  with pytest.raises(export.ExportError) as e:
    export.export(str(workdir), str(out))
  message = str(e.value)
  assert '\n' not in message and match in message, message
  assert not os.path.exists(out)
  assert not [n for n in os.listdir(os.path.dirname(out)) if n.startswith('.')]  # No temp folder.
  return message


def test_refusals_are_one_line_and_write_nothing(fine_tuned, data_dir, tmp_path):
  # An --out that is not empty, through the CLI: exit status, one line, the folder untouched.
  full = tmp_path / 'full'
  full.mkdir()
  (full / 'mine.txt').write_text('keep')
  result = _run_cli(f'--workdir={fine_tuned}', f'--out={full}')
  assert result.returncode != 0 and 'Traceback' not in result.stderr, result.stderr
  assert result.stderr.strip().splitlines() == [
      f'error: {full} exists and is not an empty folder; choose another --out'], result.stderr
  assert os.listdir(full) == ['mine.txt'] and (full / 'mine.txt').read_text() == 'keep'
  assert sorted(os.listdir(tmp_path)) == ['full']

  # A SentencePiece workdir (our own tiny CNN, trained two steps).
  spm_run = tmp_path / 'spm_run'
  config = tiny_config(data_dir, steps=2)
  train.train_and_evaluate(config, str(spm_run))
  message = _assert_refused(spm_run, tmp_path / 'o1', "its tokenizer is 'sentencepiece'")
  assert 'our own SentencePiece encoders have no HF tokenizer' in message

  # The fine-tuned workdir's own files, its config changed: a pretraining workdir, a model
  # BERT's architecture does not hold.
  def changed(name, **sections):
    folder = tmp_path / name
    shutil.copytree(os.path.join(fine_tuned, wd.TOKENIZER_DIR), folder / wd.TOKENIZER_DIR)
    saved = wd.read_config(fine_tuned)
    for section, values in sections.items():
      if isinstance(values, dict):
        saved[section].update(values)
      else:
        saved[section] = values
    wd.write_json(folder / wd.CONFIG, saved)
    return folder
  _assert_refused(changed('mlm', task='mlm'), tmp_path / 'o2',
                  "was trained for 'mlm', not classification")
  message = _assert_refused(changed('pre_ln', model=dict(block_norm='pre', head_hidden_dim=16)),
                            tmp_path / 'o3', 'BertForSequenceClassification cannot express')
  assert "model.block_norm 'pre'" in message and 'model.head_hidden_dim 16' in message
  _assert_refused(tmp_path / 'nothing', tmp_path / 'o4', 'not a textcls-jax workdir')
