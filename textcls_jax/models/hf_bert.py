"""HuggingFace BERT-family checkpoints in our Transformer: their config.json as our config.model
keys, and their tensors as our parameters, by one table (`weight_table`); and back, a classifier as
BertForSequenceClassification (`hf_config`, `to_hf`: the same table read the other way), for
textcls_jax/export.py.

Pure: dicts of numpy arrays in, dicts of numpy arrays out (textcls_jax/hf_checkpoint.py finds and
reads the files). Supported `model_type`s (`SUPPORTED`):
- 'bert' (BERT, MiniLM, bge, the sentence-transformers family): BertModel's tensors, bare or under
  'bert.' (BertForSequenceClassification, BertForPreTraining); with the pooler.
- 'electra' (the discriminator; ElectraModel's tensors, bare or under 'electra.'): no pooler, and
  an embedding narrower than the hidden width (ELECTRA-Small's 128 < 256) is our `embed_dim` with
  its projection (`embed_proj`).

BertForSequenceClassification's `classifier` is a Dense over the pooled output after dropout,
which is our ClassificationHead with hidden_dim 0 ('head/out'): it loads. Heads with no
counterpart here (BERT's MLM and next-sentence heads `cls.*`, ELECTRA's discriminator head and its
classification head with a GELU hidden layer) are listed as skipped, never loaded.

The way back writes only 'bert': a classifier whose encoder BERT's architecture holds
(`bert_mismatches` names each key that it does not).
"""

from __future__ import annotations

import re
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from textcls_jax import failures
from textcls_jax.models.heads import ClassificationHead
from textcls_jax.models.transformer import TransformerEncoder

SUPPORTED = ('bert', 'electra')
# HF `hidden_act` -> our `activation` ('gelu' is exact; the other two are the tanh approximation).
ACTIVATIONS = {'gelu': 'gelu', 'gelu_new': 'gelu_tanh', 'gelu_pytorch_tanh': 'gelu_tanh'}
# Ours -> HF's, for export: 'gelu_new' is the tanh approximation's oldest name, read by every
# transformers version.
HF_ACTIVATIONS = {'gelu': 'gelu', 'gelu_tanh': 'gelu_new'}
# Tensors read but not loaded, by name pattern (after the model prefix is taken off): the heads we
# have no counterpart for, and buffers older checkpoints saved.
SKIPPED = (r'^cls\.', r'^discriminator_predictions\.', r'^generator_', r'^classifier\.dense\.',
           r'^classifier\.out_proj\.', r'^embeddings\.(position_ids|token_type_ids)$')


class HFCheckpointError(failures.UserError, ValueError):
  """A checkpoint that our Transformer cannot hold, or whose tensors do not fit it."""


class Transform(NamedTuple):
  """How an HF tensor becomes ours: `apply(theirs, our_shape)`; the HF shape that our shape asks
  for, `their_shape(our_shape)`; and the way back, `invert(ours)` -> theirs (exact: transposes and
  reshapes only)."""
  apply: Callable
  their_shape: Callable
  invert: Callable


def _same():
  return Transform(lambda t, shape: t, lambda shape: tuple(shape), lambda a: a)


def _linear():  # torch Linear weight [out, in] -> our kernel [in, out].
  return Transform(lambda t, shape: t.T, lambda shape: tuple(shape[::-1]), lambda a: a.T)


def _to_heads():  # query/key/value weight [heads * head_dim, M] -> our kernel [M, heads, head_dim].
  return Transform(lambda t, shape: t.T.reshape(shape),
                   lambda shape: (int(np.prod(shape[1:])), shape[0]),
                   lambda a: a.reshape(a.shape[0], -1).T)


def _heads_bias():  # [heads * head_dim] -> [heads, head_dim].
  return Transform(lambda t, shape: t.reshape(shape), lambda shape: (int(np.prod(shape)),),
                   lambda a: a.reshape(-1))


def _from_heads():  # attention output weight [M, heads * head_dim] -> kernel [heads, head_dim, M].
  return Transform(lambda t, shape: t.T.reshape(shape),
                   lambda shape: (shape[-1], int(np.prod(shape[:-1]))),
                   lambda a: a.reshape(-1, a.shape[-1]).T)


def weight_table(num_layers: int, embed_proj: bool, pooler: bool, head: bool) -> list:
  """[(HF tensor name without the model prefix, our parameter path, Transform)]: every parameter
  of our encoder (under 'encoder/') and, with `head`, of the classification head ('head/')."""
  rows = [
      ('embeddings.word_embeddings.weight', 'encoder/embed/embedding', _same()),
      ('embeddings.position_embeddings.weight', 'encoder/pos_embed', _same()),
      ('embeddings.token_type_embeddings.weight', 'encoder/type_embed', _same()),
      ('embeddings.LayerNorm.weight', 'encoder/ln_embed/scale', _same()),
      ('embeddings.LayerNorm.bias', 'encoder/ln_embed/bias', _same()),
  ]
  if embed_proj:
    rows += [('embeddings_project.weight', 'encoder/embed_proj/kernel', _linear()),
             ('embeddings_project.bias', 'encoder/embed_proj/bias', _same())]
  for i in range(num_layers):
    hf, ours = f'encoder.layer.{i}.', f'encoder/block_{i}/'
    for name in ('query', 'key', 'value'):
      rows += [(f'{hf}attention.self.{name}.weight', f'{ours}attn/{name}/kernel', _to_heads()),
               (f'{hf}attention.self.{name}.bias', f'{ours}attn/{name}/bias', _heads_bias())]
    rows += [
        (f'{hf}attention.output.dense.weight', f'{ours}attn/out/kernel', _from_heads()),
        (f'{hf}attention.output.dense.bias', f'{ours}attn/out/bias', _same()),
        (f'{hf}attention.output.LayerNorm.weight', f'{ours}ln_attn/scale', _same()),
        (f'{hf}attention.output.LayerNorm.bias', f'{ours}ln_attn/bias', _same()),
        (f'{hf}intermediate.dense.weight', f'{ours}mlp_in/kernel', _linear()),
        (f'{hf}intermediate.dense.bias', f'{ours}mlp_in/bias', _same()),
        (f'{hf}output.dense.weight', f'{ours}mlp_out/kernel', _linear()),
        (f'{hf}output.dense.bias', f'{ours}mlp_out/bias', _same()),
        (f'{hf}output.LayerNorm.weight', f'{ours}ln_mlp/scale', _same()),
        (f'{hf}output.LayerNorm.bias', f'{ours}ln_mlp/bias', _same()),
    ]
  if pooler:
    rows += [('pooler.dense.weight', 'encoder/pooler/kernel', _linear()),
             ('pooler.dense.bias', 'encoder/pooler/bias', _same())]
  if head:
    rows += [('classifier.weight', 'head/out/kernel', _linear()),
             ('classifier.bias', 'head/out/bias', _same())]
  return rows


def model_keys(hf_config: dict) -> dict:
  """An HF config.json (as a dict) -> our config.model keys for it (name 'transformer', the
  Transformer family's keys, head_hidden_dim and head_dropout). Raises HFCheckpointError (one
  line) for a model_type or setting our Transformer cannot hold."""
  kind = hf_config.get('model_type')
  if kind not in SUPPORTED:
    raise HFCheckpointError(f'model_type {kind!r} is not supported; supported: '
                            f'{", ".join(SUPPORTED)}')
  positions = hf_config.get('position_embedding_type', 'absolute')
  act = hf_config.get('hidden_act', 'gelu')
  problems = []
  if positions != 'absolute':
    problems.append(f"position_embedding_type {positions!r} (only 'absolute')")
  if act not in ACTIVATIONS:
    problems.append(f'hidden_act {act!r} (only {", ".join(ACTIVATIONS)})')
  if hf_config.get('is_decoder') or hf_config.get('add_cross_attention'):
    problems.append('a decoder (is_decoder / add_cross_attention)')
  if problems:
    raise HFCheckpointError(f'this {kind} checkpoint is not one our Transformer holds: '
                            + '; '.join(problems))
  hidden = hf_config['hidden_size']
  embed = hf_config.get('embedding_size', hidden) if kind == 'electra' else hidden
  dropout = hf_config.get('hidden_dropout_prob', 0.1)
  classifier_dropout = hf_config.get('classifier_dropout')
  return dict(
      name='transformer', hidden_dim=hidden, num_layers=hf_config['num_hidden_layers'],
      num_heads=hf_config['num_attention_heads'], mlp_dim=hf_config['intermediate_size'],
      max_len=hf_config['max_position_embeddings'], dropout=dropout,
      attention_dropout=hf_config.get('attention_probs_dropout_prob', 0.1), pooling='cls',
      embed_norm=True, block_norm='post', activation=ACTIVATIONS[act],
      type_vocab_size=hf_config.get('type_vocab_size', 2),
      layer_norm_eps=hf_config.get('layer_norm_eps', 1e-12), pooler=kind == 'bert',
      embed_dim=embed if embed != hidden else 0, dtype='float32', attention_impl='auto',
      head_hidden_dim=0,
      head_dropout=dropout if classifier_dropout is None else classifier_dropout)


def _strip_prefix(tensors: dict, kind: str) -> tuple:
  """({name: tensor}, {name: the checkpoint's own name}): names without the task model's
  '<model_type>.' prefix, and LayerNorm's old gamma/beta as weight/bias (as transformers renames
  them)."""
  out, original = {}, {}
  for name, value in tensors.items():
    ours = name[len(kind) + 1:] if name.startswith(kind + '.') else name
    ours = re.sub(r'LayerNorm\.beta$', 'LayerNorm.bias', re.sub(r'LayerNorm\.gamma$',
                                                                'LayerNorm.weight', ours))
    out[ours], original[ours] = value, name
  return out, original


def _flat_shapes(tree, prefix: str) -> dict:
  leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
  return {prefix + '/'.join(k.key for k in path): tuple(leaf.shape) for path, leaf in leaves}


def expected_shapes(keys: dict, vocab_size: int, num_labels: int = 0) -> dict:
  """Our parameter path -> shape, for the encoder of `keys` (model_keys' output, or a workdir's
  config.model, whose head keys are left out) and, with num_labels, the classification head; from
  the modules themselves (nothing is computed)."""
  fields = {k: v for k, v in keys.items()
            if k not in ('name', 'head_hidden_dim', 'head_dropout', 'tie_embeddings')}
  encoder = TransformerEncoder(vocab_size=vocab_size, **fields)
  tokens = jnp.zeros((1, 2), jnp.int32)
  shapes = _flat_shapes(jax.eval_shape(encoder.init, jax.random.PRNGKey(0), tokens,
                                       tokens == 0)['params'], 'encoder/')
  if num_labels:
    head = ClassificationHead(num_classes=num_labels, hidden_dim=0)
    pooled = jnp.zeros((1, keys['hidden_dim']), jnp.float32)
    shapes.update(_flat_shapes(jax.eval_shape(head.init, jax.random.PRNGKey(0), pooled)['params'],
                               'head/'))
  return shapes


class Converted(NamedTuple):
  params: dict  # {'encoder': {...}, 'head': {...} (with a classifier)}: float32 numpy arrays.
  model: dict  # Our config.model keys (model_keys).
  vocab_size: int
  num_labels: int  # The loaded classifier's classes; 0 without one.
  skipped: tuple  # HF tensor names read but not loaded (SKIPPED), for the log.


def convert(tensors: dict, hf_config: dict) -> Converted:
  """HF tensors (name -> numpy array) and config.json -> our parameters, by `weight_table`.

  Raises HFCheckpointError naming, in one line, every missing, unexpected and misshapen tensor.
  """
  keys = model_keys(hf_config)
  kind = hf_config['model_type']
  theirs, original = _strip_prefix(tensors, kind)
  # A name as the checkpoint spells it; a missing one with the prefix its neighbours have.
  prefix = f'{kind}.' if any(n.startswith(kind + '.') for n in tensors) else ''
  as_named = lambda n: original.get(n, n if n.startswith('classifier.') else prefix + n)
  classifier = theirs.get('classifier.weight')
  num_labels = int(classifier.shape[0]) if classifier is not None and classifier.ndim == 2 else 0
  vocab_size = int(hf_config['vocab_size'])
  shapes = expected_shapes(keys, vocab_size, num_labels)
  table = weight_table(keys['num_layers'], bool(keys['embed_dim']), keys['pooler'],
                       bool(num_labels))
  assert sorted(shapes) == sorted(path for _, path, _ in table), 'the table misses our params'
  mapped = {name for name, _, _ in table}
  skipped = tuple(sorted(n for n in theirs if n not in mapped and
                         any(re.search(p, n) for p in SKIPPED)))
  unexpected = sorted(as_named(n) for n in theirs if n not in mapped and n not in skipped)
  skipped = tuple(as_named(n) for n in skipped)
  missing, misshapen, params = [], [], {}
  for name, path, transform in table:
    if name not in theirs:
      missing.append(as_named(name))
      continue
    want = transform.their_shape(shapes[path])
    if tuple(theirs[name].shape) != want:
      misshapen.append(f'{as_named(name)} {tuple(theirs[name].shape)} (expected {want})')
      continue
    params[path] = np.asarray(transform.apply(np.asarray(theirs[name], np.float32),
                                              shapes[path]))
  found = [f'{what} ({len(names)}): {", ".join(names)}'
           for what, names in (('missing', missing), ('unexpected', unexpected),
                               ('misshapen', misshapen)) if names]
  if found:
    raise HFCheckpointError(f'the {kind} checkpoint does not fit our Transformer: '
                            + '; '.join(found))
  tree = {}
  for path, value in params.items():
    node = tree
    *parents, leaf = path.split('/')
    for part in parents:
      node = node.setdefault(part, {})
    node[leaf] = value
  return Converted(tree, keys, vocab_size, num_labels, skipped)


# What BertForSequenceClassification is, in our config.model keys: each key that must hold one
# value, and the reason, for bert_mismatches' message.
_BERT_ARCHITECTURE = (
    ('block_norm', 'post', 'post-LayerNorm blocks'),
    ('pooling', 'cls', "the [CLS] position's output"),
    ('pooler', True, "BERT's pooler"),
    ('embed_norm', True, 'a LayerNorm on the embeddings'),
    ('embed_dim', 0, 'no embedding projection'),
    ('head_hidden_dim', 0, 'one Dense as the classifier'),
)


def bert_mismatches(model: dict) -> list:
  """Each config.model key (a dict, or a ConfigDict) whose value BertForSequenceClassification
  cannot express, as 'model.KEY VALUE (BERT has ...)'; [] for a model it holds whole."""
  name = model.get('name')
  if name != 'transformer':
    return [f"model.name {name!r} (BERT is a Transformer)"]
  found = [f'model.{key} {model.get(key)!r} (BERT has {why}: {want!r})'
           for key, want, why in _BERT_ARCHITECTURE if model.get(key) != want]
  if not model.get('type_vocab_size'):
    found.append(f"model.type_vocab_size {model.get('type_vocab_size')!r} (BERT has a "
                 'token-type embedding: at least 1)')
  if model.get('activation') not in HF_ACTIVATIONS:
    found.append(f"model.activation {model.get('activation')!r} (only "
                 f'{", ".join(HF_ACTIVATIONS)})')
  return found


def _check_bert(keys: dict) -> None:
  problems = bert_mismatches(keys)
  if problems:
    raise HFCheckpointError('BertForSequenceClassification cannot express this model: '
                            + '; '.join(problems))


def hf_config(keys: dict, vocab_size: int, labels, pad_token_id: int) -> dict:
  """Our config.model keys -> BertForSequenceClassification's config.json (a dict): the inverse of
  `model_keys` (model_keys(hf_config(keys, ...)) gives `keys` back).

  labels: the class names, in id order (id2label, label2id). pad_token_id: the tokenizer's [PAD].
  Raises HFCheckpointError (one line) where `bert_mismatches` finds a key BERT cannot express.
  """
  _check_bert(keys)
  labels = [str(name) for name in labels]
  return {
      'architectures': ['BertForSequenceClassification'],
      'model_type': 'bert',
      'vocab_size': int(vocab_size),
      'hidden_size': keys['hidden_dim'],
      'num_hidden_layers': keys['num_layers'],
      'num_attention_heads': keys['num_heads'],
      'intermediate_size': keys['mlp_dim'],
      'hidden_act': HF_ACTIVATIONS[keys['activation']],
      'hidden_dropout_prob': keys['dropout'],
      'attention_probs_dropout_prob': keys['attention_dropout'],
      'classifier_dropout': keys['head_dropout'],
      'max_position_embeddings': keys['max_len'],
      'type_vocab_size': keys['type_vocab_size'],
      'layer_norm_eps': keys['layer_norm_eps'],
      'position_embedding_type': 'absolute',
      'initializer_range': 0.02,  # BERT's; read only by a fresh initialization.
      'pad_token_id': int(pad_token_id),
      'id2label': {str(i): name for i, name in enumerate(labels)},
      'label2id': {name: i for i, name in enumerate(labels)},
      'problem_type': 'single_label_classification',
  }


def to_hf(params: dict, keys: dict, vocab_size: int, num_labels: int) -> dict:
  """Our classifier's parameters ({'encoder': {...}, 'head': {...}}, arrays of any kind) -> its
  tensors as BertForSequenceClassification names them ('bert.' before the encoder's,
  'classifier.weight' [num_labels, H] and 'classifier.bias' [num_labels]): float32, C-contiguous
  numpy arrays, by `weight_table` read backwards.

  Raises HFCheckpointError for a model BERT cannot express (bert_mismatches) or parameters that
  are not the model's of `keys` (each missing, unexpected and misshapen one, in one line).
  """
  _check_bert(keys)
  shapes = expected_shapes(keys, vocab_size, num_labels)
  ours = {path: np.asarray(leaf) for path, leaf in _flat_leaves(params).items()}
  table = weight_table(keys['num_layers'], embed_proj=False, pooler=True, head=True)
  missing = sorted(set(shapes) - set(ours))
  unexpected = sorted(set(ours) - set(shapes))
  misshapen = [f'{path} {ours[path].shape} (expected {shapes[path]})' for path in sorted(shapes)
               if path in ours and tuple(ours[path].shape) != shapes[path]]
  found = [f'{what} ({len(paths)}): {", ".join(paths)}'
           for what, paths in (('missing', missing), ('unexpected', unexpected),
                               ('misshapen', misshapen)) if paths]
  if found:
    raise HFCheckpointError('the parameters are not those of the model to export: '
                            + '; '.join(found))
  return {(name if name.startswith('classifier.') else 'bert.' + name):
          np.ascontiguousarray(transform.invert(ours[path].astype(np.float32)))
          for name, path, transform in table}


def _flat_leaves(tree) -> dict:
  """'encoder/block_0/attn/query/kernel' -> leaf, for nested dicts (or any pytree of dicts)."""
  leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
  return {'/'.join(str(getattr(k, 'key', k)) for k in path): leaf for path, leaf in leaves}
