"""Low-rank adapters (LoRA, Hu et al. 2021) on a Transformer's attention projections.

A projection W [in, out] with an adapter computes x W + (alpha / rank) (x A) B, A [in, rank] drawn
as torch's nn.Linear default (PEFT's), B [rank, out] zeros: training starts from the pretrained
function exactly. The adapter's parameters sit beside the projection's own, by the names
`lora_a` and `lora_b` ('encoder/block_0/attn/query/lora_a'), so that a path says what it adapts.

This module owns the names, the settings (`LoRA`, from config.finetune) and the arithmetic on
parameter trees: `merge` folds the adapters into the kernels (what predict and export use: the
merged network is the plain encoder, and as fast), `without_adapters`/`with_adapters` split them
off and back (a pretrained source has none); TRAINABLE says what trains (train_state applies it).

Ours rather than Qwix's: the projections here are hand-written matmuls (one concatenated
[M, 3M] product for query, key and value, transformer.SelfAttention), which an interceptor of
nn.Dense / einsum calls would not see without reshaping the attention around it.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Optional

import jax.numpy as jnp
import flax.linen as nn
from flax import traverse_util

from textcls_jax import config_base
from textcls_jax.models import common

A, B = 'lora_a', 'lora_b'
# What trains beside the adapters when a run has them: the classification head (fresh), and BERT's
# pooler, a layer that only the classifier reads (sentence-transformers checkpoints never trained
# theirs). Everything else in the encoder is frozen. A regex over 'a/b/c' parameter paths.
ADAPTER_PATH = rf'/({A}|{B})$'  # An adapter's parameter path.
TRAINABLE = rf'(^head/|^encoder/pooler/|{ADAPTER_PATH})'


@dataclasses.dataclass(frozen=True)
class LoRA:
  """rank r > 0, alpha (the update is scaled by alpha / r) and the projections adapted."""
  rank: int
  alpha: float = 16.0
  targets: tuple = ('query', 'value')

  @property
  def scale(self) -> float:
    return self.alpha / self.rank


def from_config(finetune) -> Optional[LoRA]:
  """config.finetune -> LoRA settings, or None when finetune.lora_rank is 0 (or absent)."""
  if finetune is None or not finetune.get('lora_rank', 0):
    return None
  return LoRA(int(finetune.lora_rank), float(finetune.get('lora_alpha', 16.0)),
              tuple(finetune.get('lora_targets', ('query', 'value'))))


def adapter_params(module: nn.Module, in_dim: int, out_dim: int, rank: int):
  """Declares (a [in_dim, rank], b [rank, out_dim]) float32 in `module` (inside its compact
  __call__)."""
  # torch's nn.Linear default (kaiming_uniform with a=sqrt(5)): U(-1/sqrt(in), 1/sqrt(in)).
  a = module.param(A, nn.initializers.variance_scaling(1 / 3, 'fan_in', 'uniform'),
                   (in_dim, rank), jnp.float32)
  b = module.param(B, nn.initializers.zeros_init(), (rank, out_dim), jnp.float32)
  return a, b


def is_adapter(path: str) -> bool:
  """Whether an 'a/b/c' parameter path is an adapter's."""
  return re.search(ADAPTER_PATH, path) is not None


def without_adapters(params) -> tuple[dict, dict]:
  """params -> (the tree without adapters, the adapters alone as a tree of the same paths)."""
  adapters, base = common.split_by_path(params, ADAPTER_PATH)
  return base, adapters


def with_adapters(params, adapters):
  """The inverse of without_adapters: the two trees joined."""
  return common.join(params, adapters)


def merge(params, lora: LoRA):
  """params with adapters -> the same network without them: each adapted kernel (whatever its
  [*in, *out] shape) becomes W + scale * A B, in float32. A tree without adapters comes back as
  it is."""
  flat = traverse_util.flatten_dict(params, sep='/')
  merged = {k: v for k, v in flat.items() if not is_adapter(k)}
  for path in flat:
    if path.endswith('/' + A):
      owner = path[:-len(A) - 1]
      kernel = flat[owner + '/kernel']
      delta = (jnp.asarray(flat[path]) @ jnp.asarray(flat[owner + '/' + B])) * lora.scale
      merged[owner + '/kernel'] = (jnp.asarray(kernel, jnp.float32)
                                   + delta.reshape(kernel.shape)).astype(kernel.dtype)
  return traverse_util.unflatten_dict(merged, sep='/')
