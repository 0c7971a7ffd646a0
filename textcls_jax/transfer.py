"""Starting a run from a pretrained workdir (`config.init_from`): its encoder and its tokenizer.

`open_pretrained` reads the workdir's config and finds its tokenizer once, and checks them against
the new run's config before anything is written; `transferred_params` then puts the encoder of its
latest checkpoint into the new run's fresh parameters (and, when both runs pretrain with the same
objective, the objective's head too: continued pretraining, e.g. on the task's own text). The new
run's encoder must be the same network as the pretrained one: the same family and the same sizes.
Settings that do not change the parameters (dropout rates, pooling, compute dtype, the heads) may
differ. Anything else is refused with the list of differences. A word2vec workdir (textcls_jax/
word2vec.py) gives its word vectors to the token embedding of any family of their width, and
nothing else.
"""

from __future__ import annotations

import dataclasses

import jax
import ml_collections
from absl import logging

from textcls_jax import checkpoint as ckpt_lib
from textcls_jax import config_base
from textcls_jax import models
from textcls_jax import train_state
from textcls_jax import workdir as wd
from textcls_jax.data import tokenizer as tok

# Model keys that do not change the encoder's parameters.
FREE_KEYS = frozenset({'dropout', 'attention_dropout', 'pooling', 'dtype', 'head_hidden_dim',
                       'head_dropout', 'tie_embeddings'})


class TransferError(ValueError):
  """An init_from workdir that does not fit this run."""


def pretrained_config(init_from: str) -> ml_collections.ConfigDict:
  saved = wd.read_config(init_from)
  if saved is None:
    raise TransferError(f'init_from={init_from}: not a textcls-jax workdir (no {wd.CONFIG})')
  return ml_collections.ConfigDict(saved)


def pretrained_tokenizer_path(init_from: str) -> str:
  """init_from's tokenizer folder (either kind of tokenizer.py's)."""
  path = wd.join(init_from, wd.TOKENIZER_DIR)
  if not tok.saved_in(path):
    raise TransferError(f'init_from={init_from}: no tokenizer at {path}')
  return path


def check_compatible(init_from: str, pretrained_model: dict, model: dict) -> None:
  """Raises TransferError naming every encoder setting that differs."""
  if pretrained_model.get('name') != model.get('name'):
    raise TransferError(
        f'init_from={init_from} holds a {pretrained_model.get("name")!r} encoder, but this config '
        f'builds a {model.get("name")!r} encoder (model.name)')
  # A key one side lacks takes the encoder's default, so a workdir written before the key existed
  # still loads into a config that leaves it at that default.
  defaults = models.encoder_defaults(model.get('name'))
  pretrained_model = {**defaults, **dict(pretrained_model)}
  model = {**defaults, **dict(model)}
  differences = [
      f'model.{k}: pretrained {pretrained_model.get(k)!r}, here {model.get(k)!r}'
      for k in sorted(set(pretrained_model) | set(model)) if k not in FREE_KEYS and
      _norm(pretrained_model.get(k)) != _norm(model.get(k))]
  if differences:
    raise TransferError(f'init_from={init_from}: the encoder differs from the pretrained one: '
                        + '; '.join(differences))


def check_width(init_from: str, pretrained_model: dict, model: dict) -> None:
  """Word vectors fit the token embedding of any family of their width; raises TransferError."""
  theirs, mine = models.embedding_dim(pretrained_model), models.embedding_dim(model)
  if theirs != mine:
    key = 'embed_dim' if model.get('embed_dim') else 'hidden_dim'
    raise TransferError(f'init_from={init_from} holds word vectors {theirs} wide, but this '
                        f"config's token embedding is {mine} wide (model.{key})")


def _norm(v):
  return list(v) if isinstance(v, (tuple, list)) else v


@dataclasses.dataclass(frozen=True)
class Pretrained:
  """An init_from workdir as read once: its folder, its config and its tokenizer file."""
  workdir: str
  config: ml_collections.ConfigDict
  tokenizer_path: str

  @classmethod
  def read(cls, init_from: str) -> 'Pretrained':
    return cls(init_from, pretrained_config(init_from), pretrained_tokenizer_path(init_from))


def open_pretrained(init_from: str, config) -> Pretrained:
  """Reads init_from's config and tokenizer; raises TransferError if this run's encoder or its
  tokenizer.model_path does not fit them. Reads only."""
  pretrained = Pretrained.read(init_from)
  if pretrained.config.get('task') == config_base.WORD_VECTORS_TASK:
    check_width(init_from, pretrained.config.model.to_dict(), config.model.to_dict())
  else:
    check_compatible(init_from, pretrained.config.model.to_dict(), config.model.to_dict())
  given = config.tokenizer.model_path
  if given and (tok.from_source(given).fingerprint()
                != tok.load(pretrained.tokenizer_path).fingerprint()):
    raise TransferError(
        f'tokenizer.model_path={given} is not the tokenizer of init_from={init_from}; leave '
        'tokenizer.model_path empty to use the pretrained one')
  return pretrained


def load_encoder_params(pretrained: Pretrained):
  """The `encoder` parameters of the pretrained workdir's latest checkpoint (any objective), as
  saved, and its step."""
  params, step = load_params(pretrained)
  return params['encoder'], step


def load_params(pretrained: Pretrained):
  """All parameters of the pretrained workdir's latest checkpoint, as saved, and its step."""
  cfg = pretrained.config
  num_classes = 0
  if cfg.get('task', 'classify') == 'classify':
    num_classes = len(wd.read_json(wd.join(pretrained.workdir, wd.LABELS))['names'])
  tokenizer = tok.load(pretrained.tokenizer_path)
  model, init_inputs = models.build_for_task(
      cfg, tokenizer.vocab_size, num_classes, pad_id=tokenizer.special.pad)
  checkpoints = ckpt_lib.Checkpointer(wd.join(pretrained.workdir, wd.CHECKPOINTS), read_only=True)
  try:
    step = checkpoints.latest_step()
    if step is None:
      raise TransferError(f'init_from={pretrained.workdir}: no checkpoint yet')
    item, _ = checkpoints.restore(step, train_state.abstract_checkpoint_item(cfg, model,
                                                                             init_inputs))
  finally:
    checkpoints.close()
  logging.info('Loaded the pretrained parameters of %s (step %d)', pretrained.workdir, step)
  return train_state.params_of(item), step


def transferred_params(pretrained: Pretrained, config, params):
  """`params` (a fresh state's) with what init_from gives this run: the encoder; and, when both
  runs pretrain with the same objective (continued, e.g. task-adaptive, pretraining), every
  parameter, the objective's head included. From a word2vec run: the token embedding alone
  (word2vec.embedding_init), every other parameter fresh."""
  if pretrained.config.get('task') == config_base.WORD_VECTORS_TASK:
    return _with_word_vectors(pretrained.workdir, params)
  saved, _ = load_params(pretrained)
  same_objective = (config.task != 'classify' and
                    pretrained.config.get('task', 'classify') == config.task)
  keys = sorted(saved) if same_objective else ['encoder']
  for key in keys:
    params = _replace_subtree(params, key, saved[key], pretrained.workdir)
  return params


def _replace_subtree(params, key: str, subtree, init_from: str):
  mine = jax.tree_util.tree_structure(params[key])
  theirs = jax.tree_util.tree_structure(subtree)
  if mine != theirs:
    raise TransferError(f'init_from={init_from}: {key} parameter trees differ')
  for a, b in zip(jax.tree.leaves(params[key]), jax.tree.leaves(subtree)):
    if a.shape != b.shape:
      raise TransferError(f'init_from={init_from}: {key} parameter of shape {b.shape} does not '
                          f'fit {a.shape} (different vocabulary or sizes)')
  return {**params, key: subtree}


def _with_word_vectors(init_from: str, params):
  from textcls_jax import word2vec
  try:
    vectors, trained = word2vec.load_vectors(init_from)
    embedding = word2vec.embedding_init(vectors, trained,
                                        jax.device_get(params['encoder']['embed']['embedding']))
  except (FileNotFoundError, ValueError) as e:
    raise TransferError(f'init_from={init_from}: {e}') from None
  logging.info('Token embedding from the word vectors of %s (%d of %d pieces)', init_from,
               int(trained.sum()), len(trained))
  encoder = {**params['encoder'], 'embed': {**params['encoder']['embed'], 'embedding': embedding}}
  return {**params, 'encoder': encoder}
