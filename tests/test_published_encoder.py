"""Fine-tuning a published HuggingFace checkpoint end to end (config.init_from, transfer.py): a tiny
random-weight BertModel saved by transformers, fine-tuned through train.train_and_evaluate with its
WordPiece vocabulary; `predict` and a resumed run from the workdir once the checkpoint folder is
gone; and the one-line refusals that leave the workdir empty."""

import json
import os
import shutil

import pytest

torch = pytest.importorskip('torch')
transformers = pytest.importorskip('transformers')

from conftest import FILLER, NEG, POS  # noqa: E402

from textcls_jax import config_base  # noqa: E402
from textcls_jax import train  # noqa: E402
from textcls_jax import transfer  # noqa: E402
from textcls_jax import workdir as wd  # noqa: E402

SPECIAL = ['[PAD]'] + [f'[unused{i}]' for i in range(4)] + ['[UNK]', '[CLS]', '[SEP]', '[MASK]']
WORDS = sorted(set(FILLER + POS + NEG))
VOCAB = SPECIAL + WORDS + [f'w{i}' for i in range(100 - len(SPECIAL) - len(WORDS))]


def _save_bert(folder, *, vocab=True, num_labels=0, model_type=None):
  config = transformers.BertConfig(
      vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
      intermediate_size=64, max_position_embeddings=64, type_vocab_size=2, pad_token_id=0,
      **({'num_labels': num_labels} if num_labels else {}))
  torch.manual_seed(0)
  model = (transformers.BertForSequenceClassification(config) if num_labels
           else transformers.BertModel(config))
  model.save_pretrained(folder)
  if vocab:
    with open(os.path.join(folder, 'vocab.txt'), 'w') as f:
      f.write(''.join(t + '\n' for t in VOCAB))
  if model_type:
    path = os.path.join(folder, 'config.json')
    with open(path) as f:
      hf_config = json.load(f)
    hf_config['model_type'] = model_type
    with open(path, 'w') as f:
      json.dump(hf_config, f)
  return str(folder)


def _config(data_dir, init_from, steps=40):
  c = config_base.config_file(os.path.join(os.path.dirname(__file__), '..', 'configs', 'tiny.py'))
  c.data.source = f'tsv:{data_dir}'
  c.data.max_len = 16
  c.init_from = init_from
  c.tokenizer.kind = 'wordpiece'
  c.model = config_base.bert_model(32, 2, 4, 64, max_len=64)
  c.train.num_steps = steps
  c.train.batch_size = 16
  c.train.log_every_steps = 10
  c.train.eval_every_steps = 20
  c.checkpoint.every_steps = 20
  c.optim.learning_rate = 1e-3
  c.optim.schedule = 'linear'
  c.optim.warmup_steps = 4
  return c


def _train_losses(workdir):
  with open(os.path.join(workdir, wd.METRICS)) as f:
    rows = [json.loads(line) for line in f]
  return [r['loss'] for r in rows if r['split'] == 'train']


def test_a_published_checkpoint_fine_tunes_predicts_and_resumes_without_its_folder(
    data_dir, tmp_path):
  source = _save_bert(tmp_path / 'bert')
  assert transfer.is_published(source) and not transfer.is_published(str(tmp_path / 'run'))
  config = _config(data_dir, source)
  run = str(tmp_path / 'run')
  train.train_and_evaluate(config, run)
  losses = _train_losses(run)
  assert losses[-1] < losses[0], losses
  # The checkpoint's vocabulary is the workdir's tokenizer.
  with open(os.path.join(run, 'tokenizer', 'vocab.txt')) as f:
    assert f.read().split('\n')[:-1] == VOCAB

  shutil.rmtree(source)  # From here on, the workdir alone.
  assert not transfer.is_published(source)
  from textcls_jax.predict import Predictor
  predictor = Predictor.from_workdir(run, 'latest')
  assert predictor.tokenizer.kind == 'wordpiece' and predictor.tokenizer.special.cls == 6
  out = predictor.predict(['the film was great', 'a dull plot', 'it is superb'])
  assert [set(o['probabilities']) for o in out] == [{'neg', 'pos'}] * 3

  resumed = _config(data_dir, source, steps=60)
  train.train_and_evaluate(resumed, run)
  assert Predictor.from_workdir(run, 'latest').step == 60

  # The fine-tuned workdir starts another run by itself (its tokenizer/ and checkpoint).
  again = _config(data_dir, run, steps=1)
  train.train_and_evaluate(again, str(tmp_path / 'again'))
  assert os.path.exists(tmp_path / 'again' / 'tokenizer' / 'vocab.txt')


def test_a_classification_checkpoint_brings_its_head_when_the_labels_fit(data_dir, tmp_path):
  source = _save_bert(tmp_path / 'bert', num_labels=2)
  config = _config(data_dir, source)
  checked = transfer.open_source(source, config)
  assert checked.checkpoint.num_labels == 2
  import jax
  import jax.numpy as jnp
  from textcls_jax import models
  model = models.build_classifier(config.model, len(VOCAB), 2, pad_id=0)
  fresh = model.init(jax.random.PRNGKey(0), jnp.ones((1, 8), jnp.int32))['params']
  params = transfer.transferred_params(checked, config, fresh)
  import numpy as np
  np.testing.assert_array_equal(params['head']['out']['kernel'],
                                checked.checkpoint.params['head']['out']['kernel'])
  three = models.build_classifier(config.model, len(VOCAB), 3, pad_id=0)
  fresh3 = three.init(jax.random.PRNGKey(0), jnp.ones((1, 8), jnp.int32))['params']
  params3 = transfer.transferred_params(checked, config, fresh3)  # 3 labels here: a fresh head.
  assert params3['head'] is fresh3['head']
  np.testing.assert_array_equal(params3['encoder']['pooler']['kernel'],
                                checked.checkpoint.params['encoder']['pooler']['kernel'])


def _refused(config, workdir, match):
  with pytest.raises(transfer.TransferError) as e:
    train.train_and_evaluate(config, str(workdir))
  message = str(e.value)
  assert '\n' not in message, message
  assert match in message, message
  assert not os.path.exists(workdir) or not os.listdir(workdir), os.listdir(workdir)
  return message


def test_bad_published_sources_are_refused_in_one_line_with_nothing_written(data_dir, tmp_path):
  no_vocab = _save_bert(tmp_path / 'no_vocab', vocab=False)
  _refused(_config(data_dir, no_vocab), tmp_path / 'w1', 'no vocab.txt')
  gpt = _save_bert(tmp_path / 'gpt', model_type='gpt2')
  _refused(_config(data_dir, gpt), tmp_path / 'w2',
           "model_type 'gpt2' is not supported; supported: bert, electra")
  good = _save_bert(tmp_path / 'good')
  other = _config(data_dir, good)
  other.model.hidden_dim = 64
  other.model.block_norm = 'pre'
  message = _refused(other, tmp_path / 'w3', 'the encoder differs from the checkpoint\'s: ')
  assert ("model.block_norm: checkpoint 'post', here 'pre'; model.hidden_dim: checkpoint 32, "
          "here 64") in message
  spm = _config(data_dir, good)
  spm.tokenizer.kind = 'sentencepiece'
  _refused(spm, tmp_path / 'w4', "set tokenizer.kind='wordpiece'")
