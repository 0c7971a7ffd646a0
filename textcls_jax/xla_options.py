"""XLA compiler options for a model's compiled steps: the one place they are chosen.

XLA:CPU (jax 0.10) hands fusions of dots and their neighbours to YNNPACK. For the Transformer's
forward pass alone that is slower; for every train step it is as fast or faster (same-process A/B
at the benchmark's shapes, 2 AMD EPYC cores, 2026-12-01, step time with YNNPACK over step time
without: Transformer inference 1.26, Transformer classification train 1.00, MLM train 0.96, CNN
train 0.99, BiLSTM train 0.74). So a Transformer's forward-only programs (inference, evaluation)
compile without it, on CPU only (config_base.ENCODER_FAMILIES: forward_without_ynnpack). The option
changes float rounding, not the math.
"""

from __future__ import annotations

from textcls_jax import config_base

# An empty list of fusion types: XLA:CPU's own code generation for every fusion.
WITHOUT_YNNPACK = {'xla_cpu_experimental_ynn_fusion_type': ''}


def for_step(model_name: str, *, training: bool, backend: str | None = None) -> dict[str, str]:
  """The compiler options for jax.jit of a `model_name` model's train step (training=True) or
  forward-only step on `backend` (default: JAX's default backend); {} for XLA's defaults."""
  if backend is None:
    import jax
    backend = jax.default_backend()
  family = config_base.ENCODER_FAMILIES.get(model_name)
  if backend == 'cpu' and family and family.forward_without_ynnpack and not training:
    return dict(WITHOUT_YNNPACK)
  return {}
