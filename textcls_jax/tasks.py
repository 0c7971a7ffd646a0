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
  """batch: tokens int32 [B, T], label int32 [B], weight float32 [B]."""
  logits = apply_fn({'params': params}, batch['tokens'], train=train,
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


def mlm_objective(apply_fn, params, batch, rng, train: bool, row_offset=0, *, vocab_size: int,
                  rate: float, mask_fraction: float, random_fraction: float, max_predictions: int):
  """batch: tokens int32 [B, T] (uncorrupted), weight float32 [B]. Masks are drawn here from rng,
  per row (see masking.mask_tokens), so they do not depend on the device layout."""
  mask_rng, dropout_rng = jax.random.split(rng)
  inputs, positions, targets, weights = masking.mask_tokens(
      mask_rng, batch['tokens'], rate=rate, mask_fraction=mask_fraction,
      random_fraction=random_fraction, vocab_size=vocab_size, max_predictions=max_predictions,
      row_offset=row_offset)
  weights = weights * batch['weight'][:, None]
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
