"""Splits made from one labelled set: k-fold cross-validation folds and a held-out test split, both
stratified by label and a pure function of (the examples' labels, the seed).

Papers report MR, SUBJ, CR and MPQA by 10-fold cross-validation, and a fixed-split dataset's own test
labels are often not public; both need a split that no training decision looks at. These are made
here, from indices only, so that the same seed gives the same split on every machine.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def stratified_fold_ids(labels: Sequence, num_folds: int, seed: int) -> np.ndarray:
  """int32 [N]: each example's fold, 0..num_folds-1.

  Within each label (in sorted order of the label's text), the examples are shuffled by the seed
  and dealt to the folds in turn, so every fold holds each class in proportion (to within one
  example), and fold sizes differ by at most the number of classes. The dealing continues from one
  class to the next, so that small classes do not all land in fold 0.
  """
  if num_folds < 2:
    raise ValueError(f'num_folds must be at least 2, got {num_folds}')
  if len(labels) < num_folds:
    raise ValueError(f'{len(labels)} examples cannot make {num_folds} folds')
  rng = np.random.default_rng(seed)
  keys = np.array([str(l) for l in labels])
  folds = np.empty(len(keys), np.int32)
  offset = 0
  for key in sorted(set(keys)):
    members = np.flatnonzero(keys == key)
    members = members[rng.permutation(len(members))]
    folds[members] = (offset + np.arange(len(members))) % num_folds
    offset += len(members)
  return folds


def stratified_holdout(labels: Sequence, fraction: float, seed: int) -> np.ndarray:
  """bool [N]: the examples held out, `fraction` of each label (rounded; at least one of a label
  with two or more examples), chosen by the seed."""
  if not 0 < fraction < 1:
    raise ValueError(f'fraction must be in (0, 1), got {fraction}')
  rng = np.random.default_rng(seed)
  keys = np.array([str(l) for l in labels])
  held = np.zeros(len(keys), bool)
  for key in sorted(set(keys)):
    members = np.flatnonzero(keys == key)
    n = int(round(fraction * len(members)))
    if len(members) >= 2:
      n = min(max(n, 1), len(members) - 1)
    held[members[rng.permutation(len(members))[:n]]] = True
  return held
