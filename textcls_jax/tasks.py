"""The objectives as pure functions, and their metrics.

An objective maps (apply_fn, params, batch, rng, train, row_offset) -> (scalar loss, metric sums);
the train step differentiates it and knows nothing else about the task.

Metrics are returned as sums (never means) so that they add up exactly across steps, devices and
hosts; `summarize_classification` turns the sums into figures on the host, and `sums_to_json`
carries a log window's sums through a checkpoint exactly.
"""

from __future__ import annotations

from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax

from textcls_jax import masking
from textcls_jax import vocab


def classification_loss(logits, labels, weights):
  """Weighted mean cross-entropy.

  logits float32 [B, C], labels int32 [B], weights float32 [B] (0 for padding examples)
  -> scalar float32 (0 when every weight is 0).
  """
  losses = optax.softmax_cross_entropy_with_integer_labels(logits.astype(jnp.float32), labels)
  return (losses * weights).sum() / jnp.maximum(weights.sum(), 1e-8)


def classification_metric_sums(logits, labels, weights):
  """Sums over a batch: loss_sum, count, correct, and the confusion matrix [C, C] (true, predicted).

  Padding examples (weight 0) contribute nothing.
  """
  num_classes = logits.shape[-1]
  losses = optax.softmax_cross_entropy_with_integer_labels(logits.astype(jnp.float32), labels)
  predicted = logits.argmax(-1)
  confusion = jnp.zeros((num_classes, num_classes), jnp.float32).at[labels, predicted].add(weights)
  return {
      'loss_sum': (losses * weights).sum(),
      'count': weights.sum(),
      'correct': ((predicted == labels) * weights).sum(),
      'confusion': confusion,
  }


def add_sums(a, b):
  """Adds two metric-sum trees (either may be None)."""
  if a is None:
    return b
  return jax.tree.map(jnp.add, a, b)


CONFUSION_PREFIX = 'confusion/'  # Per-class figures: 'confusion/TRUE/PREDICTED' -> weighted count.


def summarize_classification(sums, label_names=None, per_class: bool = False) -> dict:
  """Metric sums (host numpy or device arrays) -> {'loss', 'accuracy', 'macro_f1', ...} floats;
  per_class adds each class's precision, recall and F1 and the confusion matrix's cells."""
  sums = jax.tree.map(np.asarray, sums)
  count = float(sums['count'])
  out = {'loss': float(sums['loss_sum']) / max(count, 1e-8),
         'accuracy': float(sums['correct']) / max(count, 1e-8), 'count': count}
  confusion = np.asarray(sums['confusion'], np.float64)
  true_pos = np.diag(confusion)
  precision = true_pos / np.maximum(confusion.sum(0), 1e-12)
  recall = true_pos / np.maximum(confusion.sum(1), 1e-12)
  f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
  out['macro_f1'] = float(f1.mean())
  if len(f1) == 2:  # The F1 GLUE reports for its binary pair tasks (MRPC, QQP): class 1's.
    out['f1'] = float(f1[1])
  if per_class:
    names = label_names or [str(i) for i in range(len(f1))]
    for name, p, r, f in zip(names, precision, recall, f1):
      out[f'class/{name}/precision'] = float(p)
      out[f'class/{name}/recall'] = float(r)
      out[f'class/{name}/f1'] = float(f)
    for t, true_name in enumerate(names):
      for p, predicted_name in enumerate(names):
        out[f'{CONFUSION_PREFIX}{true_name}/{predicted_name}'] = float(confusion[t, p])
  return out


def classification_objective(apply_fn, params, batch, rng, train: bool, row_offset=0):
  """batch: tokens int32 [B, T], label int32 [B], weight float32 [B]; for sentence pairs also
  token_types int32 [B, T]."""
  logits = apply_fn({'params': params}, batch['tokens'], train=train,
                    token_types=batch.get('token_types'),
                    rngs={'dropout': jax.random.fold_in(rng, row_offset)} if train else {})
  return (classification_loss(logits, batch['label'], batch['weight']),
          classification_metric_sums(logits, batch['label'], batch['weight']))


def mlm_loss(logits, targets, weights):
  """logits float32 [B, K, V], targets int32 [B, K], weights float32 [B, K] -> weighted mean CE."""
  losses = optax.softmax_cross_entropy_with_integer_labels(logits.astype(jnp.float32), targets)
  return (losses * weights).sum() / jnp.maximum(weights.sum(), 1e-8)


def mlm_metric_sums(logits, targets, weights):
  losses = optax.softmax_cross_entropy_with_integer_labels(logits.astype(jnp.float32), targets)
  return {'loss_sum': (losses * weights).sum(), 'count': weights.sum(),
          'correct': ((logits.argmax(-1) == targets) * weights).sum()}


def _batch_masks(rng, batch, row_offset, **masks):
  """masking.mask_tokens on batch['tokens'], the weights of padding examples zeroed."""
  inputs, positions, targets, weights = masking.mask_tokens(rng, batch['tokens'],
                                                            row_offset=row_offset, **masks)
  return inputs, positions, targets, weights * batch['weight'][:, None]


def mlm_objective(apply_fn, params, batch, rng, train: bool, row_offset=0, *, vocab_size: int,
                  rate: float, mask_fraction: float, random_fraction: float, max_predictions: int,
                  special: vocab.SpecialIds):
  """batch: tokens int32 [B, T] (uncorrupted), weight float32 [B]. Masks are drawn here from rng,
  per row (see masking.mask_tokens), so they do not depend on the device layout. special: the
  tokenizer's special ids."""
  mask_rng, dropout_rng = jax.random.split(rng)
  inputs, positions, targets, weights = _batch_masks(
      mask_rng, batch, row_offset, rate=rate, mask_fraction=mask_fraction,
      random_fraction=random_fraction, vocab_size=vocab_size, max_predictions=max_predictions,
      special=special)
  logits = apply_fn({'params': params}, inputs, positions, train=train,
                    rngs={'dropout': jax.random.fold_in(dropout_rng, row_offset)} if train else {})
  return mlm_loss(logits, targets, weights), mlm_metric_sums(logits, targets, weights)


def summarize_mlm(sums, label_names=None, per_class: bool = False) -> dict:
  """MLM metric sums -> loss, accuracy and perplexity over the predicted positions."""
  del label_names, per_class  # Same signature as summarize_classification.
  sums = jax.tree.map(np.asarray, sums)
  count = float(sums['count'])
  loss = float(sums['loss_sum']) / max(count, 1e-8)
  return {'loss': loss, 'accuracy': float(sums['correct']) / max(count, 1e-8),
          'perplexity': float(np.exp(min(loss, 50.0))), 'count': count}


def replace_with_samples(rng, tokens, logits, positions, weights, temperature: float = 1.0,
                         row_offset=0, *, special: vocab.SpecialIds):
  """ELECTRA's corruption: each picked position takes a token sampled from the generator.

  tokens int32 [B, T] (original), logits float32 [B, K, V] (the generator's, at positions),
  positions int32 [B, K], weights float32 [B, K] (0: filler, left as it is). Row i samples with
  fold_in(rng, row_offset + i), so the samples do not depend on the device split.
  Returns (corrupted tokens int32 [B, T], replaced bool [B, T]): a position is 'replaced' only
  where the sample differs from the original token (a sampled original counts as original).
  The tokenizer's special ids (`special`: pad, unk, [CLS], [SEP], [MASK]) are never sampled: a
  sampled pad would read as padding.
  """
  logits = jax.lax.stop_gradient(logits.astype(jnp.float32)) / temperature
  logits = jnp.where(masking.is_special(jnp.arange(logits.shape[-1]), special), -jnp.inf, logits)
  keys = jax.vmap(lambda i: jax.random.fold_in(rng, i))(row_offset + jnp.arange(tokens.shape[0]))
  samples = jax.vmap(jax.random.categorical)(keys, logits).astype(tokens.dtype)
  def one(row, pos, sample, w):
    return row.at[pos].set(jnp.where(w > 0, sample, row[pos]))
  corrupted = jax.vmap(one)(tokens, positions, samples, weights)
  return corrupted, corrupted != tokens


def rtd_objective(apply_fn, params, batch, rng, train: bool, row_offset=0, *, vocab_size: int,
                  rate: float, mask_fraction: float, random_fraction: float, max_predictions: int,
                  discriminator_weight: float, temperature: float, special: vocab.SpecialIds):
  """Replaced-token detection (ELECTRA). batch: tokens int32 [B, T], weight float32 [B].

  The generator sees the MLM-masked tokens (masking.mask_tokens, the MLM's masks) and is trained as
  the MLM is; its samples replace the picked tokens; the discriminator classifies every non-pad
  position of the result as original or replaced. The loss is normalized by the masked count:
  (generator CE sum + rate x discriminator_weight x discriminator BCE sum) / count.
  """
  mask_rng, sample_rng, dropout_rng = jax.random.split(rng, 3)
  inputs, positions, targets, weights = _batch_masks(
      mask_rng, batch, row_offset, rate=rate, mask_fraction=mask_fraction,
      random_fraction=random_fraction, vocab_size=vocab_size, max_predictions=max_predictions,
      special=special)
  def rngs(i):
    return {'dropout': jax.random.fold_in(jax.random.fold_in(dropout_rng, i), row_offset)} \
        if train else {}
  variables = {'params': params}
  gen_logits = apply_fn(variables, inputs, positions, train=train, rngs=rngs(0),
                        method='generate')
  corrupted, replaced = replace_with_samples(sample_rng, batch['tokens'], gen_logits, positions,
                                             weights, temperature, row_offset, special=special)
  disc_logits = apply_fn(variables, corrupted, train=train, rngs=rngs(1), method='discriminate')
  token_weights = (batch['tokens'] != special.pad) * batch['weight'][:, None]
  disc_losses = optax.sigmoid_binary_cross_entropy(disc_logits, replaced.astype(jnp.float32))
  flagged = disc_logits > 0
  gen = mlm_metric_sums(gen_logits, targets, weights)
  disc_sum = (disc_losses * token_weights).sum()
  sums = {'loss_sum': gen['loss_sum'] + rate * discriminator_weight * disc_sum,
          'count': gen['count'], 'correct': gen['correct'],
          'generator_loss_sum': gen['loss_sum'],
          'tokens': token_weights.sum(),
          'discriminator_loss_sum': disc_sum,
          'discriminator_correct': ((flagged == replaced) * token_weights).sum(),
          'replaced': (replaced * token_weights).sum(),
          'flagged': (flagged * token_weights).sum(),
          'flagged_replaced': ((flagged & replaced) * token_weights).sum()}
  return sums['loss_sum'] / jnp.maximum(sums['count'], 1e-8), sums


def summarize_rtd(sums, label_names=None, per_class: bool = False) -> dict:
  """RTD metric sums -> the loss, the discriminator's accuracy, precision and recall on replaced
  tokens over every token, the replaced share, and the generator's accuracy and perplexity."""
  del label_names, per_class  # Same signature as summarize_classification.
  sums = jax.tree.map(np.asarray, sums)
  ratio = lambda a, b: float(sums[a]) / max(float(sums[b]), 1e-8)
  generator = summarize_mlm({'loss_sum': sums['generator_loss_sum'], 'count': sums['count'],
                             'correct': sums['correct']})
  return {'loss': ratio('loss_sum', 'count'), 'accuracy': ratio('discriminator_correct', 'tokens'),
          'discriminator_loss': ratio('discriminator_loss_sum', 'tokens'),
          'replaced_share': ratio('replaced', 'tokens'),
          'replaced_precision': ratio('flagged_replaced', 'flagged'),
          'replaced_recall': ratio('flagged_replaced', 'replaced'),
          'generator_accuracy': generator['accuracy'], 'generator_loss': generator['loss'],
          'perplexity': generator['perplexity'], 'count': generator['count']}


def sums_to_json(sums) -> Optional[dict]:
  """Metric sums (arrays) -> JSON: {name: [dtype, shape, flat values]}; exact for float32."""
  if sums is None:
    return None
  host = jax.device_get(sums)
  return {k: [str(v.dtype), list(v.shape), np.ravel(v).tolist()] for k, v in host.items()}


def sums_from_json(data: Optional[dict]) -> Optional[dict]:
  if not data:
    return None
  return {k: np.asarray(values, dtype).reshape(shape) for k, (dtype, shape, values) in data.items()}
