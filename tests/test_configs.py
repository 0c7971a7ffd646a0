"""Every shipped config (configs/*.py, found by glob, and each variant it lists) loads, builds its model and optimizer at full
size and takes one train step on a tiny synthetic batch: a config that no longer fits the code fails
here, not an hour into a run. No data, tokenizer or init_from workdir is read."""

import functools
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import shipped_config_specs

from textcls_jax import config_base
from textcls_jax import experiment
from textcls_jax import masking
from textcls_jax import vocab as special_ids
from textcls_jax import models
from textcls_jax import tasks
from textcls_jax import train
from textcls_jax import train_state
from textcls_jax.data import tokenizer as tok

REPO = pathlib.Path(__file__).resolve().parents[1]
CONFIGS = shipped_config_specs()
LENGTH = 16  # Tokens per row: short, so that the real model sizes compile quickly.
# The special ids of a BERT WordPiece vocabulary (tokenizer.kind 'wordpiece': a published
# checkpoint's), which masking and the padding mask then use instead of SentencePiece's 0-3.
BERT_SPECIAL = special_ids.SpecialIds(pad=0, unk=100, cls=101, mask=103, sep=102)


def _compiled(fn, *args):
  return jax.jit(fn)(*args)  # Compiling is nearly all of the time here (conftest's fast flags).


def test_the_shipped_configs_are_found():
  assert len(CONFIGS) >= 14, CONFIGS  # An empty glob would leave the test below with no cases.


def _distinct_programs(specs):
  """One spec per distinct train step: configs that differ only in their data, length of training
  (the warmup's too: a share of it), peak learning rate, cadences or starting point (e.g. one
  recipe over several datasets, scratch and pretrained twins) build the same model and
  optimizer."""
  import json
  seen, kept = set(), []
  for spec in specs:
    c = config_base.config_file(spec).to_dict()
    c['optim']['warmup_steps'] = min(c['optim']['warmup_steps'], 1)  # Whether there is one.
    del c['optim']['learning_rate']
    key = json.dumps({k: v for k, v in c.items() if k not in ('data', 'train', 'checkpoint',
                                                              'reproduce', 'eval', 'init_from')},
                     sort_keys=True, default=str) + str((c['data']['max_len'], c['data']['seq_len']))
    if key not in seen:
      seen.add(key)
      kept.append(spec)
  return kept


@pytest.mark.parametrize('spec', _distinct_programs(CONFIGS), ids=lambda s: pathlib.Path(s).name)
def test_config_builds_its_model_and_takes_a_train_step(spec):
  config = config_base.config_file(spec)
  if config.task == config_base.WORD_VECTORS_TASK:  # No train step: gensim trains the vectors.
    _check_word2vec_config(config)
    return
  vocab = config.tokenizer.vocab_size
  full = config.data.seq_len if config.task == 'mlm' else config.data.max_len
  length = min(LENGTH, full)
  special = BERT_SPECIAL if config.tokenizer.kind == 'wordpiece' else special_ids.SENTENCEPIECE
  assert vocab > special.first_regular, vocab
  rng = np.random.default_rng(0)
  tokens = rng.integers(special.first_regular, vocab, size=(2, length)).astype(np.int32)
  tokens[:, 0] = special.cls
  if special.sep is not None:
    tokens[:, -1] = special.sep
  tokens[1, length // 2:] = special.pad  # One padded row: the padding mask is in play.
  batch = {'tokens': jnp.asarray(tokens), 'weight': jnp.ones(2, jnp.float32)}
  # Initialized at the config's full length, as experiment.py does (a transformer refuses a length
  # above model.max_len); trained on the short batch.
  if config.task in config_base.PRETRAINING_TASKS:
    model, init_inputs = models.build_for_task(config, vocab, pad_id=special.pad)
    objective, _ = experiment.pretraining_objective(
        config, vocab, masking.num_predictions(length, config.mlm.rate), special)
  else:
    assert config.task == 'classify', config.task
    model = models.build_classifier(config.model, vocab, 2, pad_id=special.pad)
    init_inputs = (jnp.ones((1, full), jnp.int32),)
    objective = tasks.classification_objective
    batch['label'] = jnp.array([0, 1], jnp.int32)
  # The config's own optimizer (schedule, decay mask, fine-tuning freeze and layer decay).
  state = _compiled(lambda rng: train_state.create_train_state(config, model, init_inputs, rng),
                    jax.random.PRNGKey(0))
  new, metrics = _compiled(functools.partial(train.train_step, objective=objective), state, batch,
                           jax.random.PRNGKey(1))
  metrics = jax.device_get(metrics)
  assert int(new.step) == 1
  # A non-finite step zeroes its metrics and counts steps=0, so these also say the loss is finite.
  assert float(metrics['steps']) == 1 and float(metrics['nonfinite_steps']) == 0
  assert float(metrics['count']) > 0
  assert np.isfinite(float(metrics['loss_sum']) / float(metrics['count']))


def _check_word2vec_config(config):
  """The config's word2vec settings train vectors as wide as its model's embedding (gensim, on a
  few documents of piece ids) that set a classifier's embedding of that width."""
  from textcls_jax import word2vec
  width = models.embedding_dim(config.model)
  rng = np.random.default_rng(0)
  docs = [[str(t) for t in rng.integers(tok.NUM_SPECIAL, 50, 20)] for _ in range(20)]
  model = word2vec.untrained_model(config.word2vec, width, config.seed)
  model.build_vocab(docs)
  model.train(docs, total_examples=len(docs), epochs=1)
  vectors, _ = word2vec.vectors_by_id(model, 50)
  classifier = models.build_classifier(config.model, 50, 2, pad_id=0)
  fresh = classifier.init(jax.random.PRNGKey(0), jnp.ones((1, 8), jnp.int32))['params']
  embedding = word2vec.embedding_init(vectors, np.abs(vectors).sum(1) > 0,
                                      fresh['encoder']['embed']['embedding'])
  assert embedding.shape == (50, width) and np.isfinite(embedding).all()


def test_an_unknown_variant_is_refused_naming_the_known_ones():
  with pytest.raises(ValueError, match=r"^configs/sst2_cnn.py: no variant 'pretraind'; it has '', "
                                       r"'pretrained'"):
    config_base.config_file(str(REPO / 'configs' / 'sst2_cnn.py:pretraind'))


def test_the_pretrained_variant_is_the_scratch_run_plus_its_encoder():
  scratch = config_base.config_file(str(REPO / 'configs' / 'sst2_cnn.py')).to_dict()
  pretrained = config_base.config_file(str(REPO / 'configs' / 'sst2_cnn.py:pretrained')).to_dict()
  assert pretrained.pop('init_from') == 'runs/pretrain_cnn' and scratch.pop('init_from') == ''
  assert pretrained == scratch
