"""What a config may say, checked before a run touches anything, and what a resumed run may change.

`validate(config)` checks every key with a constraint (sizes, step counts, enums, fractions, keys that
constrain each other) and raises one ConfigError naming each bad key, its value and what is allowed.
It does no I/O and imports neither JAX nor TensorFlow, so the CLI runs it before those imports.

`check_resume(saved, config, workdir)` compares a workdir's saved config with the new one before
anything is restored or written: a change to what the saved state means is refused, naming each
changed key; only the keys in RESUMABLE_KEYS may differ.

`define_config_flag()` is the command lines' --config: the file executed once per launch, and a
--config.a.b override of a key the config lacks refused in one line naming the valid keys.
"""

from __future__ import annotations

import codecs
import os
import re
import sys
import traceback
from typing import Any, Callable, Mapping, Optional

import ml_collections
from absl import flags
from ml_collections import config_flags

from textcls_jax import config_base
from textcls_jax import failures
from textcls_jax.data import sources
from textcls_jax.data import tokenizer as tok

TASKS = ('classify',) + config_base.CORPUS_TASKS

# Keys a resumed run may change: how long it trains, how often it logs, evaluates and saves, how
# many checkpoints it keeps, how it reacts to faults, how the same batches are spread over the
# devices and into micro-batches, where compiled programs are cached, and which implementation
# computes attention. None of them changes what the saved parameters, optimizer state or data
# position mean.
# (`train.num_steps` also stretches the learning-rate schedule to the new total from the resume on.)
RESUMABLE_KEYS = frozenset({
    'train.num_steps', 'train.log_every_steps', 'train.eval_every_steps', 'train.on_nonfinite',
    'checkpoint.every_steps', 'checkpoint.max_to_keep', 'checkpoint.on_corrupt', 'parallel.mode',
    'data.tfds_data_dir', 'compilation_cache', 'train.plots', 'train.grad_accum_steps',
    'model.attention_impl',  # The same function and parameters (models/attention.py).
    'reproduce.seeds', 'reproduce.folds', 'reproduce.reference',  # The row's runs and its label,
    # not what one run's state means.
})
# Classification counts every dev example exactly once whatever the eval batch; MLM evaluates
# eval.max_batches batches, so there the eval batch size decides which windows are scored.
RESUMABLE_KEYS_CLASSIFY = frozenset({'eval.batch_size'})


class ConfigError(failures.UserError, ValueError):
  """A config value that is not allowed, or a change a workdir cannot take."""


# --- Value rules: (test, what is allowed).

def _is_int(v) -> bool:
  return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
  return isinstance(v, (int, float)) and not isinstance(v, bool)


Rule = tuple[Callable[[Any], bool], str]
POSITIVE_INT: Rule = (lambda v: _is_int(v) and v > 0, 'a positive integer')
NON_NEGATIVE_INT: Rule = (lambda v: _is_int(v) and v >= 0, 'an integer >= 0')
POSITIVE_NUMBER: Rule = (lambda v: _is_number(v) and v > 0, 'a number > 0')
NON_NEGATIVE_NUMBER: Rule = (lambda v: _is_number(v) and v >= 0, 'a number >= 0')
FRACTION: Rule = (lambda v: _is_number(v) and 0 <= v <= 1, 'a number in [0, 1]')
RATE: Rule = (lambda v: _is_number(v) and 0 < v <= 1, 'a number in (0, 1]')
OPEN_FRACTION: Rule = (lambda v: _is_number(v) and 0 < v < 1, 'a number in (0, 1)')
DROPOUT: Rule = (lambda v: _is_number(v) and 0 <= v < 1, 'a number in [0, 1)')
BETA: Rule = (lambda v: _is_number(v) and 0 <= v < 1, 'a number in [0, 1)')
BOOL: Rule = (lambda v: isinstance(v, bool), 'True or False')
STRING: Rule = (lambda v: isinstance(v, str), 'a string')
NON_EMPTY_STRING: Rule = (lambda v: isinstance(v, str) and bool(v), 'a non-empty string')


def one_of(*choices) -> Rule:
  return (lambda v: v in choices, 'one of ' + ', '.join(repr(c) for c in choices))


def _spec_kind_ok(spec) -> bool:
  return isinstance(spec, str) and spec.split(':', 1)[0] in sources.KINDS and ':' in spec


def _corpus_spec_ok(spec) -> bool:
  return _spec_kind_ok(spec) or spec in sources.TASK_TEXT_SOURCES


def _regex_ok(v) -> bool:
  try:
    re.compile(v)
  except (re.error, TypeError):
    return False
  return True


def _encoding_ok(v) -> bool:
  try:
    codecs.lookup(v)
  except (LookupError, TypeError):
    return False
  return True


def _ints(increasing: bool = False, non_empty: bool = False) -> Rule:
  def test(v):
    if not isinstance(v, (tuple, list)) or (non_empty and not v):
      return False
    if not all(_is_int(x) and x > 0 for x in v):
      return False
    return not increasing or all(a < b for a, b in zip(v, v[1:]))
  what = 'a ' + ('non-empty ' if non_empty else '') + 'tuple of positive integers'
  return (test, what + (', increasing' if increasing else ''))


SPEC: Rule = (_spec_kind_ok, f'KIND:LOCATION with KIND one of {", ".join(sources.KINDS)}')

RULES: dict[str, Rule] = {
    'seed': NON_NEGATIVE_INT,
    'task': one_of(*TASKS),
    'init_from': STRING,
    'data.source': SPEC,
    'data.train_split': NON_EMPTY_STRING,
    'data.eval_split': STRING,
    'data.text_field': STRING,
    'data.label_field': STRING,
    'data.tfds_data_dir': STRING,
    'data.encoding': (_encoding_ok, 'a Python codec name (utf-8, cp1252, latin-1, ...)'),
    'data.dev_fraction': OPEN_FRACTION,
    'data.split_seed': NON_NEGATIVE_INT,
    'data.text_join': STRING,
    'data.pair_field': STRING,
    'data.header': BOOL,
    'data.label_names': (lambda v: isinstance(v, (tuple, list)) and all(
        isinstance(n, str) and n for n in v) and len(set(v)) == len(v),
                         'a tuple of distinct, non-empty class names'),
    'data.label_names_file': STRING,
    'data.label_index_base': (_is_int, 'an integer'),
    'data.cv_folds': (lambda v: _is_int(v) and (v == 0 or v >= 2),
                      '0 (no cross-validation) or a number of folds >= 2'),
    'data.cv_fold': NON_NEGATIVE_INT,
    'data.test_fraction': (lambda v: _is_number(v) and 0 <= v < 1,
                           'a number in [0, 1) (0: no test split)'),
    'reproduce.seeds': (lambda v: isinstance(v, (tuple, list)) and v and len(set(v)) == len(v)
                        and all(_is_int(x) and x >= 0 for x in v),
                        'a non-empty tuple of distinct integers >= 0'),
    'reproduce.reference': STRING,
    'reproduce.folds': (lambda v: isinstance(v, (tuple, list)) and len(set(v)) == len(v)
                        and all(_is_int(x) and x >= 0 for x in v),
                        'a tuple of distinct fold indices (() = every fold)'),
    'data.max_len': (lambda v: _is_int(v) and v >= 2, 'an integer >= 2 ([CLS] and one token)'),
    'data.length_buckets': _ints(increasing=True),
    'data.sort_window_batches': POSITIVE_INT,
    'data.corpus_max_chars': NON_NEGATIVE_INT,
    'data.corpus_eval': STRING,
    'data.seq_len': (lambda v: _is_int(v) and v >= 2, 'an integer >= 2'),
    'mlm.rate': RATE,
    'mlm.mask_fraction': FRACTION,
    'mlm.random_fraction': FRACTION,
    'rtd.generator_size': (lambda v: _is_number(v) and 0 < v <= 1, 'a number in (0, 1]'),
    'rtd.discriminator_weight': POSITIVE_NUMBER,
    'rtd.temperature': POSITIVE_NUMBER,
    'word2vec.window': POSITIVE_INT,
    'word2vec.negatives': POSITIVE_INT,
    'word2vec.sample': (lambda v: _is_number(v) and 0 <= v < 1,
                        'a number in [0, 1) (0 keeps every piece)'),
    'word2vec.epochs': POSITIVE_INT,
    'word2vec.learning_rate': POSITIVE_NUMBER,
    'word2vec.threads': POSITIVE_INT,
    'finetune.freeze_encoder_steps': NON_NEGATIVE_INT,
    'finetune.layer_decay': RATE,
    'finetune.lora_rank': NON_NEGATIVE_INT,
    'finetune.lora_alpha': POSITIVE_NUMBER,
    'finetune.lora_targets': (lambda v: isinstance(v, (tuple, list)) and v and len(set(v)) == len(v)
                              and all(x in config_base.LORA_PROJECTIONS for x in v),
                              'a non-empty tuple of distinct attention projections from '
                              + ', '.join(repr(p) for p in config_base.LORA_PROJECTIONS)),
    'tokenizer.kind': one_of(*tok.KINDS),
    'tokenizer.vocab_file': STRING,
    'tokenizer.model_path': STRING,
    'tokenizer.vocab_size': (lambda v: _is_int(v) and v > tok.NUM_SPECIAL,
                             f'an integer > {tok.NUM_SPECIAL} (the special pieces)'),
    'tokenizer.max_chars': POSITIVE_INT,
    'tokenizer.model_type': one_of('unigram', 'bpe', 'word', 'char'),
    'tokenizer.seed': NON_NEGATIVE_INT,
    'tokenizer.normalization': one_of('nmt_nfkc', 'nfkc', 'nmt_nfkc_cf', 'nfkc_cf', 'identity'),
    'optim.learning_rate': POSITIVE_NUMBER,
    'optim.schedule': one_of('cosine', 'linear', 'constant'),
    'optim.warmup_steps': NON_NEGATIVE_INT,
    'optim.weight_decay': NON_NEGATIVE_NUMBER,
    'optim.b1': BETA,
    'optim.b2': BETA,
    'optim.eps': POSITIVE_NUMBER,
    'optim.grad_clip_norm': (NON_NEGATIVE_NUMBER[0], 'a number >= 0 (0 turns clipping off)'),
    'optim.no_decay_regex': (_regex_ok, 'a valid regular expression'),
    'optim.max_norm': (NON_NEGATIVE_NUMBER[0], 'a number >= 0 (0 turns the constraint off)'),
    'optim.max_norm_regex': (_regex_ok, 'a valid regular expression'),
    'parallel.mode': one_of('jit', 'pmap'),
    'train.batch_size': POSITIVE_INT,
    'train.num_steps': POSITIVE_INT,
    'train.log_every_steps': POSITIVE_INT,
    'train.eval_every_steps': POSITIVE_INT,
    'train.on_nonfinite': one_of('stop', 'skip'),
    'train.plots': BOOL,
    'train.grad_accum_steps': POSITIVE_INT,
    'eval.batch_size': POSITIVE_INT,
    'eval.max_batches': POSITIVE_INT,
    'checkpoint.every_steps': POSITIVE_INT,
    'checkpoint.max_to_keep': POSITIVE_INT,
    'checkpoint.best_metric': STRING,
    'checkpoint.best_mode': one_of('max', 'min'),
    'checkpoint.on_corrupt': one_of('fallback', 'error'),
    'model.name': one_of(*config_base.ENCODER_FAMILIES),
    'model.embed_dim': POSITIVE_INT,
    'model.hidden_dim': POSITIVE_INT,
    'model.num_layers': POSITIVE_INT,
    'model.num_filters': POSITIVE_INT,
    'model.filter_widths': _ints(non_empty=True),
    'model.num_heads': POSITIVE_INT,
    'model.mlp_dim': POSITIVE_INT,
    'model.max_len': POSITIVE_INT,
    'model.cell': one_of('lstm', 'gru'),
    'model.bidirectional': BOOL,
    'model.embed_norm': BOOL,
    'model.block_norm': one_of('pre', 'post'),
    'model.activation': one_of('gelu_tanh', 'gelu'),
    'model.attention_impl': one_of(*config_base.ATTENTION_IMPLEMENTATIONS),
    'model.type_vocab_size': (NON_NEGATIVE_INT[0], 'an integer >= 0 (0: no token-type embedding)'),
    'model.layer_norm_eps': POSITIVE_NUMBER,
    'model.pooler': BOOL,
    'model.tie_embeddings': BOOL,
    'model.dropout': DROPOUT,
    'model.attention_dropout': DROPOUT,
    'model.head_dropout': DROPOUT,
    'model.head_hidden_dim': NON_NEGATIVE_INT,
    'model.pooling': one_of('max', 'mean', 'cls'),
    'model.dtype': one_of('float32', 'bfloat16'),
}

# A key whose rule differs in one family: (model.name, key) -> the rule used there instead.
FAMILY_RULES: dict[tuple[str, str], Rule] = {
    ('transformer', 'model.embed_dim'): (NON_NEGATIVE_INT[0],
                                         'an integer >= 0 (0: as wide as model.hidden_dim)'),
}

# The dev figures a checkpoint can be ranked by, per task.
BEST_METRICS = {'classify': ('accuracy', 'macro_f1', 'loss'),
                'mlm': ('loss', 'accuracy', 'perplexity'),
                'rtd': ('loss', 'accuracy', 'perplexity'),
                'word2vec': ()}  # No checkpoints: the vectors are written once, at the end.


def flatten(config: Mapping, prefix: str = '') -> dict[str, Any]:
  """{'a': {'b': 1}} -> {'a.b': 1}; tuples become lists (as config.json stores them)."""
  out = {}
  for key, value in config.items():
    if isinstance(value, Mapping):
      out.update(flatten(value, f'{prefix}{key}.'))
    else:
      out[f'{prefix}{key}'] = list(value) if isinstance(value, tuple) else value
  return out


def _as_dict(config) -> dict:
  return config.to_dict() if hasattr(config, 'to_dict') else dict(config)


def problems(config) -> list[str]:
  """Every constraint `config` breaks, one phrase each ('key=value is not allowed: ...')."""
  flat = flatten(_as_dict(config))
  found = []
  def bad(key, allowed):
    found.append(f'{key}={_show(flat.get(key))} is not allowed: it must be {allowed}')
  for key, rule in RULES.items():
    test, allowed = FAMILY_RULES.get((flat.get('model.name'), key), rule)
    if key in flat and not test(_tuple(flat[key])):
      bad(key, allowed)
  if found:  # The relations below assume each key's own value is sound.
    return found
  task = flat.get('task', 'classify')
  metric = flat.get('checkpoint.best_metric', '')
  if metric and metric not in BEST_METRICS[task]:
    bad('checkpoint.best_metric', "'' (keep only the latest) or a dev figure of the task: "
        + ', '.join(repr(m) for m in BEST_METRICS[task]))
  if flat.get('mlm.mask_fraction', 0) + flat.get('mlm.random_fraction', 0) > 1:
    bad('mlm.random_fraction', f'at most 1 - mlm.mask_fraction = '
        f'{1 - flat["mlm.mask_fraction"]:g} (the two are shares of the picked tokens)')
  family = config_base.ENCODER_FAMILIES.get(flat.get('model.name'))
  family_keys = family.defaults if family else {}
  if 'max_len' in family_keys:  # Learned positions: a sequence may be at most that long.
    length_key = 'data.max_len' if task == 'classify' else 'data.seq_len'
    if flat.get(length_key, 0) > flat.get('model.max_len', 0):
      bad(length_key, f'at most model.max_len={flat["model.max_len"]} (the position embeddings '
          'the encoder has)')
  if 'num_heads' in family_keys:  # Attention heads: hidden_dim split into equal parts.
    if flat.get('model.hidden_dim', 0) % flat.get('model.num_heads', 1):
      bad('model.num_heads', f'a divisor of model.hidden_dim={flat["model.hidden_dim"]}')
  if task == 'classify':
    folds = flat.get('data.cv_folds', 0)
    if folds and flat.get('data.cv_fold', 0) >= folds:
      bad('data.cv_fold', f'a fold of data.cv_folds={folds}: 0 to {folds - 1}')
    if any(k >= folds for k in flat.get('reproduce.folds', ())):
      bad('reproduce.folds', f'folds of data.cv_folds={folds}: each 0 to {folds - 1}'
          if folds else '() without data.cv_folds (there are no folds to choose)')
    if folds and flat.get('data.test_fraction', 0):
      bad('data.test_fraction', '0 when data.cv_folds is set (the held-out fold is the test split)')
    if flat.get('data.label_names') and flat.get('data.label_names_file'):
      bad('data.label_names_file', "'' when data.label_names is set (one list of class names)")
  if flat.get('model.attention_impl') in ('xla', 'cudnn') and flat.get('model.attention_dropout'):
    bad('model.attention_impl', "'auto' or 'einsum' with model.attention_dropout > 0 "
        "(jax.nn.dot_product_attention has no dropout)")
  if flat.get('finetune.lora_rank'):  # Adapters on a frozen encoder's attention.
    if task != 'classify':
      bad('finetune.lora_rank', f'0 for task {task} (adapters fine-tune a classifier)')
    elif flat.get('model.name') not in config_base.LORA_FAMILIES:
      bad('finetune.lora_rank', '0 unless model.name is one of '
          f'{", ".join(config_base.LORA_FAMILIES)} (adapters sit on attention projections)')
    if flat.get('finetune.freeze_encoder_steps'):
      bad('finetune.freeze_encoder_steps', '0 with finetune.lora_rank (the encoder is frozen '
          'already, and the adapters are in it)')
    if flat.get('finetune.layer_decay', 1.0) != 1.0:
      bad('finetune.layer_decay', '1.0 with finetune.lora_rank (the encoder\'s layers are frozen; '
          'only the adapters in them train)')
  wordpiece = flat.get('tokenizer.kind') == 'wordpiece'
  if flat.get('data.pair_field'):  # BERT's pair encoding: a [SEP], and token-type embeddings.
    if task != 'classify':
      bad('data.pair_field', f"'' for task {task} (sentence pairs are classified)")
    elif not wordpiece:
      bad('data.pair_field', "'' unless tokenizer.kind='wordpiece' (a pair is `[CLS] text [SEP] "
          "pair [SEP]`; our SentencePiece tokenizers have no [SEP])")
    elif flat.get('model.name') != 'transformer' or flat.get('model.type_vocab_size', 0) < 2:
      bad('data.pair_field', "'' unless the model is a Transformer with model.type_vocab_size >= 2 "
          '(token types 0 and 1: a BERT-family checkpoint\'s, config_base.bert_model)')
  if wordpiece and not flat.get('tokenizer.vocab_file') and not flat.get('init_from'):
    bad('tokenizer.vocab_file', "a HF checkpoint folder or a vocab.txt for "
        "tokenizer.kind='wordpiece' (or an init_from that brings one)")
  if not wordpiece and flat.get('tokenizer.vocab_file'):
    bad('tokenizer.vocab_file', "'' for tokenizer.kind='sentencepiece' (a WordPiece vocabulary "
        "needs tokenizer.kind='wordpiece')")
  if wordpiece and flat.get('tokenizer.model_path'):
    bad('tokenizer.model_path', "'' for tokenizer.kind='wordpiece' (it names a SentencePiece "
        'model)')
  if config_base.FOLD_FIELD in flat.get('init_from', ''):
    bad('init_from', f'a workdir; {config_base.FOLD_FIELD!r} is filled in only by '
        'textcls_jax.reproduce, for each fold of a row with data.cv_folds')
  if task in config_base.CORPUS_TASKS:
    specs = flat.get('data.corpus_sources', [])
    if not specs:
      bad('data.corpus_sources', f'a non-empty tuple of unlabeled sources for task {task}')
    wrong = [spec for spec in specs if not _corpus_spec_ok(spec)]
    if wrong:  # Named once: a string where the tuple belongs would fail on every character.
      bad('data.corpus_sources', 'a tuple of KIND:LOCATION[@split] specs or '
          f"'task:train'/'task:dev' ({wrong[0]!r} is not one)")
    if flat.get('data.corpus_eval') and not _corpus_spec_ok(flat['data.corpus_eval']):
      bad('data.corpus_eval', "'' or a KIND:LOCATION[@split] spec, or 'task:dev'")
    weights = flat.get('data.corpus_weights', [])
    if weights and (len(weights) != len(specs) or not all(_is_number(w) and w >= 0
                                                          for w in weights) or sum(weights) <= 0):
      bad('data.corpus_weights', f'() or {len(specs)} non-negative numbers with a positive sum, '
          'one per data.corpus_sources entry')
    elif task == config_base.WORD_VECTORS_TASK and len(set(weights)) > 1:
      bad('data.corpus_weights', '() or equal weights for task word2vec (it reads each source '
          'once an epoch)')
  return found


def validate(config) -> None:
  """Raises ConfigError naming every key whose value is not allowed (one line)."""
  found = problems(config)
  if found:
    raise ConfigError('; '.join(found))


def _tuple(v):
  return tuple(v) if isinstance(v, list) else v


def _show(v) -> str:
  return repr(_tuple(v))


# --- What a workdir's saved config lets a re-run change.

def check_resume(saved: Mapping, config, workdir: str,
                 defaults: Optional[Mapping] = None) -> list[str]:
  """Raises ConfigError when `config` changes a key of `saved` that is not resumable.

  saved: the workdir's config.json. defaults: flat key -> value for keys an older workdir lacks
  (it was written before the key existed, so it ran with the key's default). Returns the changed
  resumable keys, as 'key: old -> new', for the log.
  """
  old, new = flatten(dict(saved)), flatten(_as_dict(config))
  defaults = dict(defaults or {})
  resumable = RESUMABLE_KEYS | (RESUMABLE_KEYS_CLASSIFY if new.get('task') == 'classify'
                                else frozenset())
  refused, allowed = [], []
  for key in sorted(set(old) | set(new)):
    before = old.get(key, defaults.get(key, _ABSENT))
    after = new.get(key, _ABSENT)
    if _same(before, after):
      continue
    line = f'{key}: {_show(before)} -> {_show(after)}'
    (allowed if key in resumable else refused).append(line)
  if refused:
    raise ConfigError(
        f'{workdir} was trained with another config ({"; ".join(refused)}; saved -> new), and '
        'a resumed run cannot change what its checkpoints mean: use a new --workdir, or '
        f'--config.init_from={workdir} to start a new run from this one. (A resumed run may '
        f'change only {", ".join(sorted(resumable))}.)')
  return allowed


class _Absent:
  def __repr__(self):
    return '(absent)'


_ABSENT = _Absent()


def _same(a, b) -> bool:
  if isinstance(a, _Absent) or isinstance(b, _Absent):
    return a is b
  if _is_number(a) and _is_number(b):
    return float(a) == float(b)  # 3 and 3.0 are the same setting.
  return _tuple(a) == _tuple(b)


def check_overrides(argv: list[str]) -> None:
  """Exits with a clear message when a --config.a.b override names a key the config lacks, or
  --config=PATH:VARIANT a variant it lacks.

  (ml_collections reports only "KeyError: 'b'", or a traceback; a user needs the path and the valid
  keys or variants.) For a command line whose --config is config_flags' own, which executes the
  file again; `define_config_flag` checks the config it executes once.
  """
  spec = _config_spec(argv)
  keys = _override_keys(argv)
  path, _, variant = (spec or '').partition(':')
  if not (keys or variant) or not os.path.isfile(path):
    return  # config_flags reports a missing file itself.
  _check_override_keys(load_config(spec), keys)


def load_config(spec: str) -> ml_collections.ConfigDict:
  """config_base.config_file(spec) (`PATH` or `PATH:VARIANT`), or an exit with one line naming the
  file and line (a file missing, not parsing, without get_config, failing in it) or an unknown
  variant; with --verbose or TEXTCLS_VERBOSE=1, the error and its traceback."""
  try:
    return config_base.config_file(spec)
  except config_base.ConfigFileError as e:
    if failures.verbose_requested('--verbose' in sys.argv):
      traceback.print_exc()  # absl would print the message of an error raised in parsing alone.
    sys.exit(f'error: {e}')


def define_config_flag(help_string: str) -> flags.FlagHolder:
  """Defines --config=PATH[:VARIANT], with its --config.a.b=v overrides, as
  config_flags.DEFINE_config_file does (the config locked: an override must name a key), but read
  by _ConfigFileParser, which executes the file once and checks the overrides' keys first."""
  holder = config_flags.DEFINE_config_file('config', None, help_string, lock_config=True)
  flags.FLAGS[holder.name].parser = _ConfigFileParser()
  return holder


class _ConfigFileParser(flags.ArgumentParser):
  """--config's value: the file executed by config_base.config_file (the loader the configs and
  tests use too), its overrides' keys checked against the result before config_flags applies
  them, as it would otherwise report an unknown key only as "KeyError: 'b'"."""

  def parse(self, argument):
    config = load_config(argument)
    _check_override_keys(config, _override_keys(sys.argv[1:]))
    config.lock()
    return config

  def flag_type(self):
    return 'config object'


def _config_spec(argv: list[str]) -> Optional[str]:
  """The value of --config in a command line, or None."""
  spec = None
  for i, a in enumerate(argv):
    if a.startswith('--config='):
      spec = a.split('=', 1)[1]
    elif a == '--config' and i + 1 < len(argv):
      spec = argv[i + 1]
  return spec


def _override_keys(argv: list[str]) -> list[str]:
  """The keys of a command line's --config.a.b=v overrides ('a.b')."""
  return [a[len('--config.'):].split('=', 1)[0] for a in argv if a.startswith('--config.')]


def _check_override_keys(config: ml_collections.ConfigDict, keys: list[str]) -> None:
  """Exits naming the first key that `config` lacks, with the valid keys where it stops."""
  for key in keys:
    node, walked = config, []
    for part in key.split('.'):
      if not isinstance(node, ml_collections.ConfigDict) or part not in node:
        where = '.'.join(walked) or 'the config'
        is_dict = isinstance(node, ml_collections.ConfigDict)
        valid = ', '.join(sorted(node.keys())) if is_dict else ''
        sys.exit(f'error: unknown config key {key!r} in --config.{key}: {where} has no {part!r}'
                 + (f'; valid keys: {valid}' if valid else ''))
      node, walked = node[part], walked + [part]
