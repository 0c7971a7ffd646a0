"""Starting from a published HuggingFace checkpoint end to end (config.init_from, transfer.py): tiny
random-weight models saved by transformers, with a WordPiece vocabulary, through
train.train_and_evaluate.

- A BertModel fine-tuned to classify; `predict` and a resumed run from the workdir once the
  checkpoint folder is gone; the one-line refusals that leave the workdir empty.
- Continued (task-adaptive) MLM from the BertModel with a fresh MLM head, in the shape of
  configs/published_minilm.py:mlm_imdb: it starts from the checkpoint's encoder, masks with the
  vocabulary's [MASK] and never a special token, reduces its loss; a classifier then starts from
  that MLM workdir (its WordPiece tokenizer included), fine-tunes and predicts.
- An ELECTRA discriminator (ElectraForPreTraining, its embedding narrower than its hidden width):
  the config that states it (bert_model(..., pooler=False, embed_dim=...)) fine-tunes and predicts;
  a config that states a BERT encoder is refused with the call that would fit.
"""

import json
import os
import random
import shutil
import types

import pytest

torch = pytest.importorskip('torch')
transformers = pytest.importorskip('transformers')

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from conftest import FILLER, NEG, POS, REPO  # noqa: E402

from textcls_jax import config_base  # noqa: E402
from textcls_jax import experiment  # noqa: E402
from textcls_jax import hf_checkpoint  # noqa: E402
from textcls_jax import start  # noqa: E402
from textcls_jax import train  # noqa: E402
from textcls_jax import transfer  # noqa: E402
from textcls_jax import workdir as wd  # noqa: E402

SPECIAL = ['[PAD]'] + [f'[unused{i}]' for i in range(4)] + ['[UNK]', '[CLS]', '[SEP]', '[MASK]']
WORDS = sorted(set(FILLER + POS + NEG))
VOCAB = SPECIAL + WORDS + [f'w{i}' for i in range(100 - len(SPECIAL) - len(WORDS))]
PAD, UNK, CLS, SEP, MASK = (VOCAB.index(t) for t in ('[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'))


def _write_vocab(folder):
  with open(os.path.join(folder, 'vocab.txt'), 'w') as f:
    f.write(''.join(t + '\n' for t in VOCAB))


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
    _write_vocab(folder)
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
  # A tiny post-LN encoder at BERT's init barely moves in 40 steps at 1e-3 (its losses stayed at
  # ln 2); at 3e-3 it learns the task by step 40.
  c.optim.learning_rate = 3e-3
  c.optim.schedule = 'linear'
  c.optim.warmup_steps = 4
  return c


def _rows(workdir, split):
  with open(os.path.join(workdir, wd.METRICS)) as f:
    return [row for row in map(json.loads, f) if row['split'] == split]


def _train_losses(workdir):
  return [r['loss'] for r in _rows(workdir, 'train')]


def _assert_learned(workdir):
  """The classifier learned the sentiment words: its train loss fell well below ln 2 and its last
  dev accuracy is far above chance (not a loss that wobbled down by noise)."""
  losses = _train_losses(workdir)
  assert losses[-1] < losses[0] - 0.1, losses
  assert _rows(workdir, 'dev')[-1]['accuracy'] >= 0.75, _rows(workdir, 'dev')


def test_a_published_checkpoint_fine_tunes_predicts_and_resumes_without_its_folder(
    data_dir, tmp_path):
  source = _save_bert(tmp_path / 'bert')
  assert transfer.is_published(source) and not transfer.is_published(str(tmp_path / 'run'))
  config = _config(data_dir, source)
  run = str(tmp_path / 'run')
  train.train_and_evaluate(config, run)
  _assert_learned(run)
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


def _save_electra(folder):
  """A tiny random ELECTRA discriminator as ElectraForPreTraining saves it (its discriminator head
  is skipped when read), with an embedding narrower than its hidden width, as ELECTRA-Small's."""
  config = transformers.ElectraConfig(
      vocab_size=len(VOCAB), embedding_size=16, hidden_size=32, num_hidden_layers=2,
      num_attention_heads=4, intermediate_size=64, max_position_embeddings=64, type_vocab_size=2,
      pad_token_id=0)
  torch.manual_seed(0)
  transformers.ElectraForPreTraining(config).save_pretrained(folder)
  _write_vocab(folder)
  return str(folder)


def _flat(tree) -> dict:
  """'encoder/block_0/attn/query/kernel' -> host array, for any nesting of dicts."""
  leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
  return {'/'.join(str(getattr(k, 'key', k)) for k in path): np.asarray(leaf)
          for path, leaf in leaves}


def _same(a, b) -> bool:
  a, b = _flat(a), _flat(b)
  return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def _assert_same(a, b):
  a, b = _flat(a), _flat(b)
  assert sorted(a) == sorted(b)
  for k in a:
    np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def _watch(monkeypatch):
  """Records, for each run train.train_and_evaluate sets up from here on, its fresh parameters,
  the parameters it starts from (start.initial_state's) and its Experiment."""
  seen = types.SimpleNamespace(fresh=[], started=[], experiments=[])
  initial_state, build_experiment = start.initial_state, experiment.build_experiment
  def watched_initial_state(*args):
    out = initial_state(*args)
    seen.fresh.append(jax.device_get(args[3].params))
    seen.started.append(jax.device_get(out[0].params))
    return out
  def watched_build_experiment(*args, **kwargs):
    seen.experiments.append(build_experiment(*args, **kwargs))
    return seen.experiments[-1]
  monkeypatch.setattr(start, 'initial_state', watched_initial_state)
  monkeypatch.setattr(experiment, 'build_experiment', watched_build_experiment)
  return seen


MLM_STEPS = 30


def _write_corpus(path, n=1500, seed=0):
  """Unlabelled text in the test vocabulary's words, one document a line."""
  rng = random.Random(seed)
  path.write_text(''.join(' '.join(rng.choices(FILLER, k=rng.randint(2, 8))
                                   + [rng.choice(POS + NEG)]) + '\n' for _ in range(n)))
  return path


def _mlm_config(corpus, init_from, steps=MLM_STEPS):
  """The shipped continued-MLM recipe (configs/published_minilm.py:mlm_imdb) at the tiny
  checkpoint's sizes, on a local text corpus whose tail is held out."""
  c = config_base.config_file(str(REPO / 'configs' / 'published_minilm.py:mlm_imdb'))
  assert c.task == 'mlm' and c.tokenizer.kind == 'wordpiece', 'the shipped variant changed'
  c.init_from = init_from
  c.model = config_base.bert_model(32, 2, 4, 64, max_len=64)
  c.data.corpus_sources = (f'text:{corpus}',)
  c.data.corpus_weights = (1.0,)
  c.data.corpus_eval = ''
  c.data.seq_len = 32
  c.train.num_steps = steps
  c.train.batch_size = 16
  c.train.log_every_steps = 10
  c.train.eval_every_steps = c.checkpoint.every_steps = steps
  c.eval.batch_size = 16
  c.eval.max_batches = 2
  c.optim.learning_rate = 3e-3
  c.optim.warmup_steps = 3
  return c


@pytest.fixture(scope='module')
def mlm_run(tmp_path_factory):
  """Continued MLM from the tiny BertModel, once for the tests below: (source, workdir, what the
  run started from)."""
  root = tmp_path_factory.mktemp('continued_mlm')
  source = _save_bert(root / 'bert')
  workdir = str(root / 'mlm')
  with pytest.MonkeyPatch.context() as monkeypatch:
    seen = _watch(monkeypatch)
    train.train_and_evaluate(_mlm_config(_write_corpus(root / 'corpus.txt'), source), workdir)
  return types.SimpleNamespace(source=source, workdir=workdir, seen=seen)


def test_continued_mlm_starts_from_the_checkpoints_encoder_with_a_fresh_mlm_head(mlm_run):
  checkpoint = hf_checkpoint.read(mlm_run.source)
  [fresh], [started] = mlm_run.seen.fresh, mlm_run.seen.started
  assert sorted(started) == ['encoder', 'head']
  _assert_same(started['encoder'], checkpoint.params['encoder'])  # The pooler too.
  assert not _same(fresh['encoder'], checkpoint.params['encoder'])  # (Else this proves nothing.)
  _assert_same(started['head'], fresh['head'])
  # The workdir holds the checkpoint's vocabulary as its tokenizer, and is a workdir, not a
  # published checkpoint, to a later init_from.
  with open(os.path.join(mlm_run.workdir, 'tokenizer', 'vocab.txt')) as f:
    assert f.read().split('\n')[:-1] == VOCAB
  assert not transfer.is_published(mlm_run.workdir)


def test_continued_mlm_masks_with_the_vocabularys_mask_and_never_a_special_token(mlm_run):
  """The run's own objective on its own first batch (a few rows padded too, which its windows never
  are): the corrupted positions hold WordPiece's [MASK] (not SentencePiece's id 3) or a regular
  token, and are never [CLS], [SEP], [PAD] or [UNK]."""
  [exp] = mlm_run.seen.experiments
  assert exp.objective.keywords['special'].mask == MASK
  batch = next(exp.train_batches(0))
  tokens = np.array(batch['tokens'])
  # Documents are packed as the classifier reads them: [CLS] text [SEP].
  assert (tokens == CLS).sum() > 10 and (tokens == SEP).sum() > 10
  tokens[:4, 20:] = PAD
  seen = []
  def apply_fn(variables, inputs, positions, train, rngs):
    del variables, train, rngs
    seen.append(np.asarray(inputs))
    return jnp.zeros(positions.shape + (len(VOCAB),), jnp.float32)
  for i in range(6):
    exp.objective(apply_fn, None, {'tokens': jnp.asarray(tokens), 'weight': batch['weight']},
                  jax.random.PRNGKey(i), False)
  inputs = np.stack(seen)
  original = np.broadcast_to(tokens, inputs.shape)
  changed = inputs != original
  specials = [PAD, UNK, CLS, SEP, MASK]
  assert changed.sum() > 200
  assert not np.isin(original[changed], specials).any()
  # 80% [MASK] and 10% a random token of the picked ones: about 0.89 of the changed are [MASK].
  assert 0.8 < (inputs[changed] == MASK).mean() < 0.97
  assert not np.isin(inputs[changed & (inputs != MASK)], specials).any()


def test_continued_mlm_reduces_its_loss(mlm_run):
  losses = _train_losses(mlm_run.workdir)
  assert len(losses) == MLM_STEPS // 10 and losses[-1] < losses[0] - 0.5, losses


def test_a_classifier_fine_tunes_from_the_continued_mlm_workdir_and_predicts(mlm_run, data_dir,
                                                                              tmp_path,
                                                                              monkeypatch):
  pretrained = transfer.Pretrained.read(mlm_run.workdir)
  mlm_encoder, step = transfer.load_encoder_params(pretrained)
  assert step == MLM_STEPS
  assert not _same(mlm_encoder, hf_checkpoint.read(mlm_run.source).params['encoder'])
  # The workdir holds a WordPiece tokenizer: a config that says SentencePiece is refused.
  spm = _config(data_dir, mlm_run.workdir)
  spm.tokenizer.kind = 'sentencepiece'
  _refused(spm, tmp_path / 'spm', "holds a wordpiece tokenizer: set tokenizer.kind='wordpiece'")

  config = _config(data_dir, mlm_run.workdir)
  # [CLS] is never masked, so its state is the one MLM never trains: from the MLM run's encoder a
  # [CLS] classifier learns too slowly for 40 steps (its loss 0.70 -> 0.68). Mean pooling (a key
  # the parameters do not depend on, so it may differ from the MLM run's) learns by step 40.
  config.model.pooling = 'mean'
  seen = _watch(monkeypatch)
  run = str(tmp_path / 'run')
  train.train_and_evaluate(config, run)
  [fresh], [started] = seen.fresh, seen.started
  _assert_same(started['encoder'], mlm_encoder)
  _assert_same(started['head'], fresh['head'])  # A classification head, fresh.
  _assert_learned(run)
  with open(os.path.join(run, 'tokenizer', 'vocab.txt')) as f:
    assert f.read().split('\n')[:-1] == VOCAB
  from textcls_jax.predict import Predictor
  predictor = Predictor.from_workdir(run, 'latest')
  assert predictor.tokenizer.kind == 'wordpiece' and predictor.tokenizer.special.mask == MASK
  out = predictor.predict(['the film was great', 'a dull plot'])
  assert [set(o['probabilities']) for o in out] == [{'neg', 'pos'}] * 2


def test_an_electra_discriminator_fine_tunes_and_predicts(data_dir, tmp_path, monkeypatch):
  source = _save_electra(tmp_path / 'electra')
  checkpoint = hf_checkpoint.read(source)
  assert checkpoint.model['embed_dim'] == 16 and not checkpoint.model['pooler']
  # A config stating a BERT encoder is refused, naming the keys and the call that states ELECTRA.
  message = _refused(_config(data_dir, source), tmp_path / 'as_bert',
                     "the encoder differs from the checkpoint's: ")
  assert ('model.embed_dim: checkpoint 16, here 0; model.pooler: checkpoint False, here True; '
          'model = config_base.bert_model(hidden_dim=32, num_layers=2, num_heads=4, mlp_dim=64, '
          'embed_dim=16, max_len=64, pooler=False) states this checkpoint') in message, message

  config = _config(data_dir, source)
  config.model = config_base.bert_model(32, 2, 4, 64, max_len=64, pooler=False, embed_dim=16)
  seen = _watch(monkeypatch)
  run = str(tmp_path / 'run')
  train.train_and_evaluate(config, run)
  [fresh], [started] = seen.fresh, seen.started
  _assert_same(started['encoder'], checkpoint.params['encoder'])
  assert 'embed_proj' in started['encoder'] and 'pooler' not in started['encoder']
  assert started['encoder']['embed']['embedding'].shape == (len(VOCAB), 16)
  _assert_same(started['head'], fresh['head'])
  _assert_learned(run)
  from textcls_jax.predict import Predictor
  out = Predictor.from_workdir(run, 'latest').predict(['the film was great', 'a dull plot'])
  assert [set(o['probabilities']) for o in out] == [{'neg', 'pos'}] * 2
