"""Low-rank adapters (finetune.lora_rank; models/lora.py, train_state.TrainState.trainable).

- The adapters' arithmetic: a fresh adapter computes the network it adapts exactly; `merge` folds
  trained adapters into the kernels of a network without them, on every projection they may sit
  on; split and join round-trip.
- Training: only the adapters, the head and the pooler get gradients and optimizer state; a train
  step leaves every other parameter bit-identical.
- End to end from a published checkpoint (a tiny random BertModel saved by transformers): the
  encoder comes from the checkpoint and the adapters start fresh; the run learns; the checkpoint
  holds the adapters; a run stopped and resumed ends bit-identical to one that never stopped;
  predict and export give the probabilities of the unmerged network.
- One-line refusals of settings adapters cannot take.
"""

import functools
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from textcls_jax import config_base
from textcls_jax import config_checks
from textcls_jax import models
from textcls_jax import tasks
from textcls_jax import train
from textcls_jax import train_state
from textcls_jax.models import lora as lora_lib


def _classifier(lora=None, **model_keys):
  model = config_base.bert_model(32, 2, 4, 64, max_len=32)
  model.update(model_keys)
  return models.build_classifier(model, 50, 3, pad_id=0, lora=lora)


def _tokens(seed=0):
  tokens = np.random.default_rng(seed).integers(1, 50, (4, 12)).astype(np.int32)
  tokens[:, 9:] = 0  # Padding.
  return jnp.asarray(tokens)


def _randomized(params, seed=1):
  """params with every adapter's b drawn at random (a fresh b is zeros)."""
  flat = jax.tree_util.tree_flatten_with_path(params)[0]
  keys = iter(jax.random.split(jax.random.PRNGKey(seed), len(flat)))
  def draw(path, x):
    key = next(keys)
    return jax.random.normal(key, x.shape) * 0.3 if path[-1].key == lora_lib.B else x
  return jax.tree_util.tree_map_with_path(draw, params)


def test_a_fresh_adapter_computes_exactly_the_network_it_adapts():
  lora = lora_lib.LoRA(rank=4, alpha=8.0, targets=('query', 'value'))
  adapted = _classifier(lora)
  params = adapted.init(jax.random.PRNGKey(0), _tokens())['params']
  base, adapters = lora_lib.without_adapters(params)
  assert set(adapters['encoder']['block_0']['attn']) == {'query', 'value'}
  a = adapters['encoder']['block_0']['attn']['query']
  assert a[lora_lib.A].shape == (32, 4) and a[lora_lib.B].shape == (4, 32)
  assert not np.any(a[lora_lib.B])
  np.testing.assert_array_equal(adapted.apply({'params': params}, _tokens()),
                                _classifier().apply({'params': base}, _tokens()))
  rejoined = lora_lib.with_adapters(base, adapters)
  assert jax.tree.structure(rejoined) == jax.tree.structure(params)


@pytest.mark.parametrize('targets', [('query', 'value'), ('key', 'out'),
                                     ('query', 'key', 'value', 'out')])
def test_merged_adapters_compute_what_the_adapters_compute(targets):
  lora = lora_lib.LoRA(rank=3, alpha=6.0, targets=targets)
  adapted = _classifier(lora)
  params = _randomized(adapted.init(jax.random.PRNGKey(0), _tokens())['params'])
  merged = lora_lib.merge(params, lora)
  assert jax.tree.structure(merged) == jax.tree.structure(lora_lib.without_adapters(params)[0])
  want = adapted.apply({'params': params}, _tokens())
  got = _classifier().apply({'params': merged}, _tokens())
  assert float(jnp.max(jnp.abs(want - _classifier().apply(
      {'params': lora_lib.without_adapters(params)[0]}, _tokens())))) > 1e-2  # They do change it.
  np.testing.assert_allclose(got, want, atol=2e-5)


def test_only_adapters_head_and_pooler_train_and_the_rest_stays_bit_identical():
  config = config_base.base_config()
  config.model = config_base.bert_model(32, 2, 4, 64, max_len=32)
  config.data.max_len = 12
  config.finetune.lora_rank = 4
  config.train.num_steps = 10
  config.optim.warmup_steps = 0
  config.optim.learning_rate = 1e-2
  model, inputs = models.build_for_task(config, 50, 3, pad_id=0)
  state = train_state.create_train_state(config, model, inputs, jax.random.PRNGKey(0))
  total, trainable = train_state.parameter_counts(state)
  # Per block: query and value, each a [32, 4] and a [4, 32]; the pooler 32 x 32 + 32; the head.
  assert trainable == 2 * 2 * 2 * 4 * 32 + (32 * 32 + 32) + (32 * 3 + 3)
  assert total > 10 * trainable
  # Adam's moments cover the trainable part alone.
  moments = sum(x.size for x in jax.tree.leaves(state.opt_state))
  assert moments < 3 * trainable
  batch = {'tokens': _tokens(), 'label': jnp.array([0, 1, 2, 1]), 'weight': jnp.ones(4)}
  step = jax.jit(functools.partial(train.train_step, objective=tasks.classification_objective))
  new = state
  for _ in range(3):  # The first update's rate is 0 (warmup), the second's b gives a its gradient.
    new, _ = step(new, batch, jax.random.PRNGKey(1))
  before = train_state.partition(state.params, state.trainable)
  after = train_state.partition(new.params, new.trainable)
  for x, y in zip(jax.tree.leaves(before[1]), jax.tree.leaves(after[1])):
    np.testing.assert_array_equal(x, y)  # Frozen.
  changed = [not np.array_equal(x, y) for x, y in zip(jax.tree.leaves(before[0]),
                                                       jax.tree.leaves(after[0]))]
  assert all(changed), changed
  assert jax.tree.structure(new.params) == jax.tree.structure(state.params)


@pytest.mark.parametrize('overrides,key', [
    ({'model': 'cnn'}, 'finetune.lora_rank'),
    ({'task': 'mlm'}, 'finetune.lora_rank'),
    ({'finetune.freeze_encoder_steps': 10}, 'finetune.freeze_encoder_steps'),
    ({'finetune.layer_decay': 0.8}, 'finetune.layer_decay'),
    ({'finetune.lora_targets': ('query', 'mlp_in')}, 'finetune.lora_targets'),
    ({'finetune.lora_rank': -1}, 'finetune.lora_rank'),
    ({'finetune.lora_alpha': 0}, 'finetune.lora_alpha'),
])
def test_settings_adapters_cannot_take_are_refused_in_one_line(overrides, key):
  config = config_base.base_config()
  config.model = config_base.transformer_model()
  config.finetune.lora_rank = 8
  for k, v in overrides.items():
    if k == 'model':
      config.model = config_base.cnn_model()
    elif k == 'task':
      config = config_base.pretraining_config(config.model, num_steps=10)
      config.finetune.lora_rank = 8
      config.data.corpus_sources = ('tsv:x',)
    else:
      section, name = k.split('.')
      config[section][name] = v
  with pytest.raises(config_checks.ConfigError) as e:
    config_checks.validate(config)
  assert '\n' not in str(e.value) and str(e.value).count(key) >= 1, str(e.value)
  assert [p for p in config_checks.problems(config) if p.startswith(key + '=')], \
      config_checks.problems(config)


# --- End to end from a published checkpoint.

@pytest.fixture
def published(tmp_path):
  pytest.importorskip('torch')
  pytest.importorskip('transformers')
  from test_published_encoder import _save_bert
  return _save_bert(tmp_path / 'bert')


def _lora_config(data_dir, source, steps=60):
  from test_published_encoder import _config
  config = _config(data_dir, source, steps=steps)
  config.finetune.lora_rank = 4
  config.finetune.lora_alpha = 8.0
  # A frozen random encoder leaves the work to the adapters, the pooler and the head: at 1e-2 this
  # run's losses stayed near ln 2 for 60 steps; at 3e-2 they fall to 0.45, dev 0.78.
  config.optim.learning_rate = 3e-2
  return config


def _restore_unmerged(workdir, step):
  """The classifier with its adapters and the checkpoint's parameters, as trained (not merged)."""
  import ml_collections
  from textcls_jax import checkpoint as ckpt_lib
  from textcls_jax import workdir as wd
  from textcls_jax.data import tokenizer as tok
  config = ml_collections.ConfigDict(wd.read_config(workdir))
  tokenizer = tok.load(os.path.join(workdir, wd.TOKENIZER_DIR))
  labels = wd.read_json(os.path.join(workdir, wd.LABELS))['names']
  model, inputs = models.build_for_task(config, tokenizer.vocab_size, len(labels),
                                        pad_id=tokenizer.special.pad)
  checkpoints = ckpt_lib.Checkpointer(os.path.join(workdir, wd.CHECKPOINTS), read_only=True)
  try:
    item, _ = checkpoints.restore(step, train_state.abstract_checkpoint_item(config, model,
                                                                             inputs))
  finally:
    checkpoints.close()
  return model, train_state.params_of(item), tokenizer


def test_adapters_on_a_published_encoder_learn_and_predict_merged(published, data_dir, tmp_path):
  from test_published_encoder import _assert_learned
  from textcls_jax import hf_checkpoint
  from textcls_jax.predict import Predictor
  from textcls_jax import results
  run = str(tmp_path / 'run')
  train.train_and_evaluate(_lora_config(data_dir, published), run)
  _assert_learned(run)
  # What a results file records: 2 blocks x (query, value) x (32 x 4 + 4 x 32), the pooler
  # 32 x 32 + 32, the head 32 x 2 + 2.
  total, trainable = results.parameter_counts(run)
  assert trainable == 2 * 2 * 256 + 1056 + 66 and total > 10 * trainable
  model, params, tokenizer = _restore_unmerged(run, 60)
  _, adapters = lora_lib.without_adapters(params)
  assert set(adapters['encoder']['block_1']['attn']) == {'query', 'value'}
  assert np.any(adapters['encoder']['block_1']['attn']['value'][lora_lib.B])  # Trained.
  # The encoder but its adapters and pooler is the checkpoint's, bit for bit.
  theirs = hf_checkpoint.read(published).params['encoder']
  frozen = train_state.partition(params, lora_lib.TRAINABLE)[1]['encoder']
  flat_theirs = dict(jax.tree_util.tree_flatten_with_path(theirs)[0])
  for path, x in jax.tree_util.tree_flatten_with_path(frozen)[0]:
    np.testing.assert_array_equal(x, flat_theirs[path])

  texts = ['the film was great', 'a dull plot', 'it is superb and lovely', 'awful']
  predictor = Predictor.from_workdir(run, 'latest')
  assert not lora_lib.without_adapters(predictor._params)[1]  # Merged: a plain encoder.
  ours = np.array([[o['probabilities'][n] for n in predictor.labels.names]
                   for o in predictor.predict(texts)])
  pieces = tokenizer.encode_batch(texts)
  special = tokenizer.special
  width = max(len(p) for p in pieces) + 2
  tokens = np.zeros((len(texts), width), np.int32)
  for i, p in enumerate(pieces):
    tokens[i, :len(p) + 2] = [special.cls] + p + [special.sep]
  unmerged = jax.nn.softmax(model.apply({'params': params}, jnp.asarray(tokens)))
  np.testing.assert_allclose(ours, unmerged, atol=2e-5)

  # A run that starts from this workdir takes the encoder it computes: merged.
  from textcls_jax import transfer
  encoder, _ = transfer.load_encoder_params(transfer.Pretrained.read(run))
  merged = lora_lib.merge(params, lora_lib.LoRA(4, 8.0))['encoder']
  assert jax.tree.structure(encoder) == jax.tree.structure(merged)
  for x, y in zip(jax.tree.leaves(encoder), jax.tree.leaves(merged)):
    np.testing.assert_array_equal(x, y)

  # Exported, it is a plain BertForSequenceClassification with predict's probabilities.
  import torch
  import transformers
  from textcls_jax import export
  export.export(run, str(tmp_path / 'hf'), 'latest')
  hf_tokenizer = transformers.AutoTokenizer.from_pretrained(str(tmp_path / 'hf'))
  hf_model = transformers.AutoModelForSequenceClassification.from_pretrained(
      str(tmp_path / 'hf')).eval()
  with torch.no_grad():
    theirs = torch.softmax(hf_model(**hf_tokenizer(texts, padding=True, return_tensors='pt'))
                           .logits, -1).numpy()
  assert np.abs(theirs - ours).max() <= 1e-4, np.abs(theirs - ours).max()


def test_a_lora_run_stopped_and_resumed_equals_one_that_never_stopped(
    published, data_dir, tmp_path, monkeypatch, caplog, train_step_calls):
  from test_reliability import _stop_resume_and_compare
  config = _lora_config(data_dir, published, steps=30)
  config.train.grad_accum_steps = 2
  _stop_resume_and_compare(config, (13,), tmp_path, monkeypatch, caplog, train_step_calls)
