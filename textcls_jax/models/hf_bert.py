"""HuggingFace BERT-family checkpoints in our Transformer: their config.json as our config.model
keys, and their tensors as our parameters, by one table (`weight_table`).

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
"""

from __future__ import annotations

import re
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from textcls_jax.models.heads import ClassificationHead
from textcls_jax.models.transformer import TransformerEncoder

SUPPORTED = ('bert', 'electra')
# HF `hidden_act` -> our `activation` ('gelu' is exact; the other two are the tanh approximation).
ACTIVATIONS = {'gelu': 'gelu', 'gelu_new': 'gelu_tanh', 'gelu_pytorch_tanh': 'gelu_tanh'}
# Tensors read but not loaded, by name pattern (after the model prefix is taken off): the heads we
# have no counterpart for, and buffers older checkpoints saved.
SKIPPED = (r'^cls\.', r'^discriminator_predictions\.', r'^generator_', r'^classifier\.dense\.',
           r'^classifier\.out_proj\.', r'^embeddings\.(position_ids|token_type_ids)$')


class HFCheckpointError(ValueError):
  """A checkpoint that our Transformer cannot hold, or whose tensors do not fit it."""


class Transform(NamedTuple):
  """How an HF tensor becomes ours: `apply(theirs, our_shape)`, and the HF shape that our shape
  asks for, `their_shape(our_shape)`."""
  apply: Callable
  their_shape: Callable


def _same():
  return Transform(lambda t, shape: t, lambda shape: tuple(shape))


def _linear():  # torch Linear weight [out, in] -> our kernel [in, out].
  return Transform(lambda t, shape: t.T, lambda shape: tuple(shape[::-1]))


def _to_heads():  # query/key/value weight [heads * head_dim, M] -> our kernel [M, heads, head_dim].
  return Transform(lambda t, shape: t.T.reshape(shape),
                   lambda shape: (int(np.prod(shape[1:])), shape[0]))


def _heads_bias():  # [heads * head_dim] -> [heads, head_dim].
  return Transform(lambda t, shape: t.reshape(shape), lambda shape: (int(np.prod(shape)),))


def _from_heads():  # attention output weight [M, heads * head_dim] -> kernel [heads, head_dim, M].
  return Transform(lambda t, shape: t.T.reshape(shape),
                   lambda shape: (shape[-1], int(np.prod(shape[:-1]))))


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
      embed_dim=embed if embed != hidden else 0, dtype='float32', head_hidden_dim=0,
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
  """Our parameter path -> shape, for the encoder of `keys` (model_keys' output) and, with
  num_labels, the classification head; from the modules themselves (nothing is computed)."""
  fields = {k: v for k, v in keys.items() if k not in ('name', 'head_hidden_dim', 'head_dropout')}
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
