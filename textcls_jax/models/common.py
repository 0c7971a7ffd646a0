"""Pieces shared by the encoder families: dtypes, masked pooling, and splitting a parameter tree
by path."""

from __future__ import annotations

import re

import jax.numpy as jnp
from flax import traverse_util


def compute_dtype(name: str):
  """'float32' or 'bfloat16' -> the dtype of activations (parameters stay float32)."""
  try:
    return {'float32': jnp.float32, 'bfloat16': jnp.bfloat16}[name]
  except KeyError:
    raise ValueError(f"model.dtype must be 'float32' or 'bfloat16', got {name!r}") from None


def masked_mean(x, mask):
  """x [B, T, H], mask [B, T] bool -> [B, H], the mean over valid positions (0 where none)."""
  m = mask[..., None].astype(x.dtype)
  return (x * m).sum(1) / jnp.maximum(m.sum(1), 1)


def masked_max(x, mask):
  """x [B, T, H], mask [B, T] bool -> [B, H], the max over valid positions (0 where none)."""
  neg = jnp.finfo(x.dtype).min
  out = jnp.where(mask[..., None], x, neg).max(1)
  return jnp.where(mask.any(1, keepdims=True), out, 0)


def pool(x, mask, method: str):
  """Masked pooling by name: 'mean' or 'max' over the valid positions; 'first' takes position 0."""
  if method == 'mean':
    return masked_mean(x, mask)
  if method == 'max':
    return masked_max(x, mask)
  if method in ('first', 'cls'):
    return x[:, 0]
  raise ValueError(f"unknown pooling {method!r}: use 'mean', 'max' or 'cls'")


def split_by_path(params, pattern: str) -> tuple:
  """params -> (the leaves whose 'a/b/c' path matches the regex `pattern`, the others): two trees
  of params' paths."""
  regex = re.compile(pattern)
  flat = traverse_util.flatten_dict(params, sep='/')
  return (traverse_util.unflatten_dict({k: v for k, v in flat.items() if regex.search(k)}, sep='/'),
          traverse_util.unflatten_dict({k: v for k, v in flat.items() if not regex.search(k)},
                                       sep='/'))


def join(a, b):
  """Two trees of disjoint paths (split_by_path's) as one."""
  return traverse_util.unflatten_dict({**traverse_util.flatten_dict(a, sep='/'),
                                       **traverse_util.flatten_dict(b, sep='/')}, sep='/')
