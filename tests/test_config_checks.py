"""Config values refused at start-up, and the config changes a workdir refuses on a re-run.

Every constrained key gets a bad value on the real command line: the run must stop with one line
naming the key, its value and what is allowed, exit non-zero, and write nothing. The check runs
before JAX and TensorFlow are imported, so each case costs a fraction of a second.
"""

import pathlib
import re
import subprocess
import sys

import pytest

from textcls_jax import config_base
from textcls_jax import config_checks

REPO = pathlib.Path(__file__).resolve().parents[1]

# (config file, key, a bad value as typed on the command line, a phrase of what is allowed).
BAD_VALUES = [
    ('tiny', 'seed', '-1', 'an integer >= 0'),
    ('tiny', 'task', 'translate', "one of 'classify', 'mlm'"),
    ('tiny', 'data.source', 'ftp:data', 'KIND:LOCATION'),
    ('tiny', 'data.train_split', '', 'a non-empty string'),
    ('tiny', 'data.encoding', 'no-such-codec', 'a Python codec name'),
    ('tiny', 'data.dev_fraction', '1.0', 'a number in (0, 1)'),
    ('tiny', 'data.split_seed', '-3', 'an integer >= 0'),
    ('tiny', 'data.cv_folds', '1', 'a number of folds >= 2'),
    ('tiny', 'data.cv_fold', '-1', 'an integer >= 0'),
    ('tiny', 'data.test_fraction', '1.0', 'a number in [0, 1)'),
    ('tiny', 'data.label_names', "('a', 'a')", 'distinct, non-empty class names'),
    ('tiny', 'reproduce.seeds', '()', 'a non-empty tuple of distinct integers'),
    ('tiny', 'reproduce.folds', '(1, 1)', 'a tuple of distinct fold indices'),
    ('tiny', 'data.max_len', '1', 'an integer >= 2'),
    ('tiny', 'data.length_buckets', '(16, 8)', 'increasing'),
    ('tiny', 'data.sort_window_batches', '0', 'a positive integer'),
    ('tiny', 'finetune.freeze_encoder_steps', '-1', 'an integer >= 0'),
    ('tiny', 'finetune.layer_decay', '0.0', 'a number in (0, 1]'),
    ('tiny', 'finetune.lora_rank', '-8', 'an integer >= 0'),
    ('tiny', 'finetune.lora_alpha', '0.0', 'a number > 0'),
    ('tiny', 'finetune.lora_targets', "('query', 'mlp_in')", 'distinct attention projections'),
    ('tiny', 'tokenizer.vocab_size', '4', 'an integer > 4'),
    ('tiny', 'tokenizer.max_chars', '0', 'a positive integer'),
    ('tiny', 'tokenizer.model_type', 'wordpiece', "one of 'unigram'"),
    ('tiny', 'tokenizer.seed', '-1', 'an integer >= 0'),
    ('tiny', 'tokenizer.normalization', 'nfc', "one of 'nmt_nfkc'"),
    ('tiny', 'optim.learning_rate', '-0.001', 'a number > 0'),
    ('tiny', 'optim.schedule', 'step', "one of 'cosine', 'linear', 'constant'"),
    ('tiny', 'optim.warmup_steps', '-1', 'an integer >= 0'),
    ('tiny', 'optim.weight_decay', '-0.1', 'a number >= 0'),
    ('tiny', 'optim.b1', '1.0', 'a number in [0, 1)'),
    ('tiny', 'optim.b2', '1.5', 'a number in [0, 1)'),
    ('tiny', 'optim.eps', '0.0', 'a number > 0'),
    ('tiny', 'optim.grad_clip_norm', '-1.0', 'a number >= 0'),
    ('tiny', 'optim.no_decay_regex', '(bias', 'a valid regular expression'),
    ('tiny', 'optim.max_norm', '-3.0', 'a number >= 0'),
    ('tiny_mlm', 'rtd.generator_size', '0.0', 'a number in (0, 1]'),
    ('tiny_mlm', 'rtd.discriminator_weight', '-1.0', 'a number > 0'),
    ('tiny_mlm', 'rtd.temperature', '0.0', 'a number > 0'),
    ('word2vec', 'word2vec.window', '0', 'a positive integer'),
    ('word2vec', 'word2vec.negatives', '-5', 'a positive integer'),
    ('word2vec', 'word2vec.sample', '1.5', 'a number in [0, 1)'),
    ('word2vec', 'word2vec.epochs', '0', 'a positive integer'),
    ('word2vec', 'word2vec.learning_rate', '0.0', 'a number > 0'),
    ('word2vec', 'word2vec.threads', '0', 'a positive integer'),
    ('tiny', 'tokenizer.model_type', 'wordpiece', "one of 'unigram', 'bpe', 'word', 'char'"),
    ('tiny', 'optim.max_norm_regex', '[head', 'a valid regular expression'),
    ('tiny', 'parallel.mode', 'pjit', "one of 'jit', 'pmap'"),
    ('tiny', 'train.batch_size', '0', 'a positive integer'),
    ('tiny', 'train.num_steps', '-5', 'a positive integer'),
    ('tiny', 'train.grad_accum_steps', '0', 'a positive integer'),
    ('tiny', 'train.log_every_steps', '0', 'a positive integer'),
    ('tiny', 'train.eval_every_steps', '0', 'a positive integer'),
    ('tiny', 'train.on_nonfinite', 'ignore', "one of 'stop', 'skip'"),
    ('tiny', 'eval.batch_size', '0', 'a positive integer'),
    ('tiny', 'eval.max_batches', '0', 'a positive integer'),
    ('tiny', 'checkpoint.every_steps', '0', 'a positive integer'),
    ('tiny', 'checkpoint.max_to_keep', '0', 'a positive integer'),
    ('tiny', 'checkpoint.best_metric', 'f1', "a dev figure of the task: 'accuracy'"),
    ('tiny', 'checkpoint.best_mode', 'best', "one of 'max', 'min'"),
    ('tiny', 'checkpoint.on_corrupt', 'delete', "one of 'fallback', 'error'"),
    ('tiny', 'model.name', 'lstm', "one of 'rnn', 'cnn', 'transformer'"),
    ('tiny', 'model.embed_dim', '0', 'a positive integer'),
    ('tiny', 'model.num_filters', '-16', 'a positive integer'),
    ('tiny', 'model.filter_widths', '()', 'a non-empty tuple of positive integers'),
    ('tiny', 'model.num_layers', '0', 'a positive integer'),
    ('tiny', 'model.dropout', '1.0', 'a number in [0, 1)'),
    ('tiny', 'model.head_dropout', '-0.5', 'a number in [0, 1)'),
    ('tiny', 'model.head_hidden_dim', '-1', 'an integer >= 0'),
    ('tiny', 'model.pooling', 'min', "one of 'max', 'mean', 'cls'"),
    ('tiny', 'model.dtype', 'float16', "one of 'float32', 'bfloat16'"),
    ('sst2_rnn', 'model.hidden_dim', '0', 'a positive integer'),
    ('sst2_rnn', 'model.cell', 'rnn', "one of 'lstm', 'gru'"),
    ('sst2_transformer', 'model.num_heads', '0', 'a positive integer'),
    ('sst2_transformer', 'model.mlp_dim', '0', 'a positive integer'),
    ('sst2_transformer', 'model.max_len', '0', 'a positive integer'),
    ('sst2_transformer', 'model.attention_dropout', '1.5', 'a number in [0, 1)'),
    ('tiny_mlm', 'data.seq_len', '1', 'an integer >= 2'),
    ('tiny_mlm', 'data.corpus_max_chars', '-1', 'an integer >= 0'),
    ('tiny_mlm', 'mlm.rate', '0.0', 'a number in (0, 1]'),
    ('tiny_mlm', 'mlm.mask_fraction', '1.2', 'a number in [0, 1]'),
    ('tiny_mlm', 'mlm.random_fraction', '-0.1', 'a number in [0, 1]'),
    # Keys that constrain each other.
    ('sst2_transformer', 'data.max_len', '256', 'at most model.max_len=128'),
    ('tiny_mlm', 'data.seq_len', '128', 'at most model.max_len=64'),
    ('sst2_transformer', 'model.num_heads', '3', 'a divisor of model.hidden_dim=256'),
    ('tiny_mlm', 'mlm.random_fraction', '0.5', 'at most 1 - mlm.mask_fraction = 0.2'),
    ('tiny_mlm', 'checkpoint.best_metric', 'macro_f1', "'loss', 'accuracy', 'perplexity'"),
    ('tiny_mlm', 'data.corpus_sources', '()', 'a non-empty tuple of unlabeled sources'),
    ('tiny_mlm', 'data.corpus_weights', '(0.5, 0.5)', '() or 1 non-negative numbers'),
    ('tiny_mlm', 'data.corpus_eval', 'books.txt', "'' or a KIND:LOCATION[@split] spec"),
    ('tiny_mlm', 'data.corpus_sources', "('task:test',)", "or 'task:train'/'task:dev'"),
]


def _run(config_name, workdir, *overrides, env=None, timeout=120):
  return subprocess.run(
      [sys.executable, '-m', 'textcls_jax.main', f'--config=configs/{config_name}.py',
       f'--workdir={workdir}', *overrides], cwd=REPO, capture_output=True, text=True,
      timeout=timeout, env=env)


@pytest.mark.parametrize('config_name,key,value,allowed', BAD_VALUES,
                         ids=[f'{k}={v}' for _, k, v, _ in BAD_VALUES])
def test_a_bad_config_value_is_one_line_naming_it_and_writes_nothing(tmp_path, config_name, key,
                                                                    value, allowed):
  workdir = tmp_path / 'run'
  result = _run(config_name, workdir, f'--config.{key}={value}')
  assert result.returncode == 1, result.stderr[-2000:]
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith(f'error: {key}='), result.stderr[-2000:]
  assert 'is not allowed: it must be' in lines[0] and allowed in lines[0], lines[0]
  assert not workdir.exists()


def test_an_unknown_config_variant_is_one_line_naming_the_known_ones(tmp_path):
  workdir = tmp_path / 'run'
  result = subprocess.run(
      [sys.executable, '-m', 'textcls_jax.main', '--config=configs/sst2_cnn.py:pretraind',
       f'--workdir={workdir}'], cwd=REPO, capture_output=True, text=True, timeout=120)
  assert result.returncode == 1, result.stderr[-2000:]
  assert result.stderr.strip().splitlines() == [
      "error: configs/sst2_cnn.py: no variant 'pretraind'; it has '', 'pretrained' (PATH:VARIANT)"]
  assert not workdir.exists()


def test_the_command_line_executes_the_config_file_once(tmp_path):
  """--config=PATH:VARIANT with overrides: the file runs once, its overrides checked and applied."""
  counter = tmp_path / 'executed'
  config_file = tmp_path / 'counted.py'
  config_file.write_text(
      'from textcls_jax import config_base\n'
      f'with open({str(counter)!r}, "a") as f:\n'
      '  f.write("x")\n'
      'def get_config(variant=""):\n'
      '  config_base.check_variant(__file__, variant, ("", "short"))\n'
      '  c = config_base.base_config()\n'
      '  c.model = config_base.cnn_model()\n'
      '  return c\n')
  result = subprocess.run(
      [sys.executable, '-m', 'textcls_jax.main', f'--config={config_file}:short',
       '--config.seed=1', '--config.train.num_steps=0', f'--workdir={tmp_path / "run"}'],
      cwd=REPO, capture_output=True, text=True, timeout=120)
  assert result.stderr.strip().splitlines() == [
      'error: train.num_steps=0 is not allowed: it must be a positive integer'], result.stderr
  assert counter.read_text() == 'x'


def test_every_rule_is_exercised_on_the_command_line_or_in_process():
  """Each key of config_checks.RULES has a bad-value case, here or in the in-process test below."""
  covered = {key for _, key, _, _ in BAD_VALUES} | set(IN_PROCESS) | STRING_ONLY
  assert set(config_checks.RULES) <= covered, set(config_checks.RULES) - covered


# Keys whose only rule is their type, which the command line enforces itself (ml_collections
# refuses a value of another type), and booleans, which it cannot mistype either.
STRING_ONLY = {'init_from', 'data.eval_split', 'data.text_field', 'data.label_field',
               'data.tfds_data_dir', 'tokenizer.model_path', 'data.text_join', 'data.pair_field',
               'data.label_names_file', 'reproduce.reference'}
IN_PROCESS = {'model.bidirectional': 1, 'model.embed_norm': 'yes', 'model.tie_embeddings': None,
              'init_from': 3, 'data.corpus_eval': 5, 'tokenizer.model_path': None,
              'train.num_steps': 2.5, 'train.plots': 'yes', 'model.dropout': True, 'checkpoint.best_metric': 1,
              'data.header': 'no', 'data.label_index_base': 1.5,
              # The Transformer's BERT settings (models/transformer.py).
              'model.block_norm': 'sandwich', 'model.activation': 'relu',
              'model.type_vocab_size': -1, 'model.layer_norm_eps': 0.0, 'model.pooler': 'yes',
              'model.embed_dim': -1, 'model.attention_impl': 'flash',
              # The tokenizer's kind (data/tokenizer.py) and a WordPiece vocabulary's file.
              'tokenizer.kind': 'bpe', 'tokenizer.vocab_file': 7}


@pytest.mark.parametrize('key,value', IN_PROCESS.items(), ids=list(IN_PROCESS))
def test_mistyped_values_from_python_are_refused(key, value):
  config = config_base.base_config()
  config.model = config_base.transformer_model()
  flat = config.to_dict()
  section, _, name = key.rpartition('.')
  (flat[section] if section else flat)[name] = value
  with pytest.raises(config_checks.ConfigError, match=f'^{key}=.* is not allowed: it must be'):
    config_checks.validate(flat)


def test_a_transformer_may_leave_embed_dim_at_0_and_the_other_families_may_not():
  """A Transformer's embed_dim 0 means 'as wide as hidden_dim'; an RNN's or CNN's is its width."""
  config = config_base.base_config()
  config.model = config_base.transformer_model()
  assert config.model.embed_dim == 0 and config_checks.problems(config) == []
  config.model.embed_dim = -1
  assert config_checks.problems(config) == [
      'model.embed_dim=-1 is not allowed: it must be an integer >= 0 (0: as wide as '
      'model.hidden_dim)']
  config.model = config_base.cnn_model()
  config.model.embed_dim = 0
  assert config_checks.problems(config) == [
      'model.embed_dim=0 is not allowed: it must be a positive integer']


def test_every_shipped_config_is_valid():
  """As its runs are: a reproduction row's runs are the config with a fold and seed filled in."""
  from conftest import shipped_config_specs
  from textcls_jax import reproduce
  for spec in shipped_config_specs():
    config = config_base.config_file(spec)
    _, fold, seed = reproduce.run_names(config)[0]
    assert config_checks.problems(reproduce.run_config(config, fold, seed)) == [], spec


@pytest.mark.parametrize('keys,message', [
    ({'data.cv_folds': 5, 'data.cv_fold': 5}, 'data.cv_fold=5 is not allowed: it must be a fold of '
     'data.cv_folds=5: 0 to 4'),
    ({'data.cv_folds': 5, 'reproduce.folds': (0, 5)}, 'reproduce.folds=(0, 5) is not allowed: it '
     'must be folds of data.cv_folds=5: each 0 to 4'),
    ({'reproduce.folds': (1,)}, 'reproduce.folds=(1,) is not allowed: it must be () without '
     'data.cv_folds'),
    ({'data.cv_folds': 5, 'data.test_fraction': 0.1}, 'data.test_fraction=0.1 is not allowed: it '
     'must be 0 when data.cv_folds is set'),
    ({'data.label_names': ('a', 'b'), 'data.label_names_file': 'classes.txt'},
     "data.label_names_file='classes.txt' is not allowed: it must be '' when data.label_names"),
])
def test_split_and_label_settings_that_contradict_each_other(keys, message):
  config = _tiny()
  config.update_from_flattened_dict(keys)
  with pytest.raises(config_checks.ConfigError, match=re.escape(message)):
    config_checks.validate(config)


def test_several_bad_values_are_named_in_one_line():
  config = config_base.config_file(str(REPO / 'configs' / 'tiny.py'))
  config.train.num_steps = -5
  config.train.batch_size = 0
  with pytest.raises(config_checks.ConfigError) as e:
    config_checks.validate(config)
  assert str(e.value) == ('train.batch_size=0 is not allowed: it must be a positive integer; '
                          'train.num_steps=-5 is not allowed: it must be a positive integer')


def test_a_batch_the_devices_cannot_split_is_refused_before_anything_is_written(tmp_path):
  import os
  env = dict(os.environ, XLA_FLAGS=f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=8",
             JAX_PLATFORMS='cpu', TF_CPP_MIN_LOG_LEVEL='2')
  workdir = tmp_path / 'run'
  result = _run('tiny', workdir, '--config.train.batch_size=30', env=env, timeout=300)
  assert result.returncode == 1
  assert result.stderr.strip().splitlines()[-1] == (
      'error: train.batch_size=30 is not divisible by the 8 devices; use a multiple of 8')
  assert not workdir.exists()


# --- What a re-run may change (pure: config dicts only; the end-to-end runs are in
# test_workdir_safety.py).

def _tiny():
  return config_base.config_file(str(REPO / 'configs' / 'tiny.py'))


def test_resumable_keys_may_change_and_are_reported():
  saved = _tiny().to_dict()
  config = _tiny()
  config.train.num_steps = 600
  config.checkpoint.max_to_keep = 5
  config.parallel.mode = 'pmap'
  assert config_checks.check_resume(saved, config, 'w') == [
      'checkpoint.max_to_keep: 2 -> 5', "parallel.mode: 'jit' -> 'pmap'",
      'train.num_steps: 300 -> 600']


@pytest.mark.parametrize('key,value', [
    ('model.num_filters', 32), ('tokenizer.vocab_size', 2000), ('data.source', 'tsv:other'),
    ('data.label_field', 'sentiment'), ('task', 'mlm'), ('train.batch_size', 64), ('seed', 1),
    ('optim.learning_rate', 0.01), ('init_from', 'runs/pre')])
def test_changes_to_what_the_state_means_are_refused(key, value):
  saved = _tiny().to_dict()
  config = _tiny()
  section, name = key.rsplit('.', 1) if '.' in key else (None, key)
  (config[section] if section else config)[name] = value
  old = saved[section][name] if section else saved[name]
  with pytest.raises(config_checks.ConfigError,
                     match=f'^w was trained with another config \\({key}: {old!r} -> {value!r}; '
                     'saved -> new\\).*use a new --workdir, or --config.init_from=w'):
    config_checks.check_resume(saved, config, 'w')


def test_eval_batch_size_is_resumable_for_classification_only():
  for task, allowed in (('classify', True), ('mlm', False)):
    saved = _tiny().to_dict()
    saved['task'] = task
    config = _tiny()
    config.task = task
    config.eval.batch_size = 512
    if allowed:
      assert config_checks.check_resume(saved, config, 'w') == ['eval.batch_size: 256 -> 512']
    else:
      with pytest.raises(config_checks.ConfigError, match='eval.batch_size: 256 -> 512'):
        config_checks.check_resume(saved, config, 'w')


def test_a_key_an_older_workdir_lacks_takes_its_default():
  saved = _tiny().to_dict()
  del saved['model']['pooling']  # Written before the key existed: it ran with the default.
  config = _tiny()
  assert config_checks.check_resume(saved, config, 'w', {'model.pooling': 'max'}) == []
  config.model.pooling = 'mean'
  with pytest.raises(config_checks.ConfigError, match="model.pooling: 'max' -> 'mean'"):
    config_checks.check_resume(saved, config, 'w', {'model.pooling': 'max'})
  with pytest.raises(config_checks.ConfigError, match=r"model.pooling: \(absent\) -> 'mean'"):
    config_checks.check_resume(saved, config, 'w')
