"""The objectives as pure functions, and their metrics.

Metrics are returned as sums (never means) so that they add up exactly across steps, devices and
hosts; `summarize_classification` turns the sums into figures on the host.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax


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


def summarize_classification(sums, label_names=None, per_class: bool = False) -> dict:
  """Metric sums (host numpy or device arrays) -> {'loss', 'accuracy', 'macro_f1', ...} floats."""
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
  return out
