"""XLA compiler options for a model's compiled steps: the one place they are chosen, per CPU kind.

A choice applies only on the kinds of CPU (vendor, AVX-512, AMX: `CpuKind`) where it was measured
to help; on any other CPU, and on GPU and TPU, XLA's defaults. A kind is added to a choice with its
measurement, below.

Forward-only programs of a Transformer (inference, evaluation) without YNNPACK. XLA:CPU (jax 0.10)
hands fusions of dots and their neighbours to YNNPACK; for a Transformer's forward pass alone that
is slower, for every train step as fast or faster. Measured on AMD EPYC without AVX-512 (2 cores):
  2026-12-01, same-process A/B at vs_peers' shapes, step time with YNNPACK over without: Transformer
  inference 1.26; train steps 1.00 (Transformer classification), 0.96 (MLM), 0.99 (CNN), 0.74
  (BiLSTM), so training keeps XLA's defaults.
  2026-12-07, forward at 64 x 128, tokens/s without / with: BERT-small 21,660 / 16,934 (1.28),
  all-MiniLM-L6-v2's shape 6,426 / 5,092 (1.26).
Not measured on AMD EPYC with AVX-512 nor on Intel Xeon (Sapphire Rapids: AVX-512, AMX), which
therefore compile with XLA's defaults. The option changes float rounding, not the math.
"""

from __future__ import annotations

import dataclasses
import functools

from textcls_jax import config_base

# An empty list of fusion types: XLA:CPU's own code generation for every fusion.
WITHOUT_YNNPACK = {'xla_cpu_experimental_ynn_fusion_type': ''}


@dataclasses.dataclass(frozen=True)
class CpuKind:
  """What a compiler choice depends on: the vendor ('AMD', 'Intel', or '' when unknown) and the
  vector and matrix units XLA:CPU can use."""
  vendor: str
  avx512: bool
  amx: bool

  def __str__(self):
    units = [name for name, has in (('AVX-512', self.avx512), ('AMX', self.amx)) if has]
    return f'{self.vendor or "unknown"} CPU ({", ".join(units) or "no AVX-512, no AMX"})'


_VENDORS = {'AuthenticAMD': 'AMD', 'GenuineIntel': 'Intel'}


def parse_cpuinfo(text: str) -> CpuKind:
  """The CpuKind that /proc/cpuinfo's text describes (its first processor's vendor_id and flags)."""
  fields = {}
  for line in text.splitlines():
    key, sep, value = line.partition(':')
    if sep and key.strip() not in fields:
      fields[key.strip()] = value.strip()
  flags = set(fields.get('flags', '').split())
  return CpuKind(vendor=_VENDORS.get(fields.get('vendor_id', ''), ''),
                 avx512='avx512f' in flags, amx='amx_tile' in flags)


@functools.lru_cache(maxsize=None)
def cpu_kind() -> CpuKind:
  """This machine's CpuKind (unknown, without units, where /proc/cpuinfo cannot be read)."""
  try:
    with open('/proc/cpuinfo', encoding='utf-8', errors='replace') as f:
      return parse_cpuinfo(f.read())
  except OSError:
    return CpuKind('', False, False)


# Each choice: the CPU kinds it was measured to help on (the module docstring gives the figures).
FORWARD_WITHOUT_YNNPACK_ON = frozenset({CpuKind('AMD', avx512=False, amx=False)})


def for_step(model_name: str, *, training: bool, backend: str | None = None,
             cpu: CpuKind | None = None) -> dict[str, str]:
  """The compiler options for jax.jit of a `model_name` model's train step (training=True) or
  forward-only step on `backend` (default: JAX's default backend) and, on CPU, `cpu` (default: this
  machine's kind); {} for XLA's defaults."""
  if backend is None:
    import jax
    backend = jax.default_backend()
  if backend != 'cpu':
    return {}
  family = config_base.ENCODER_FAMILIES.get(model_name)
  if (family and family.forward_without_ynnpack and not training and
      (cpu or cpu_kind()) in FORWARD_WITHOUT_YNNPACK_ON):
    return dict(WITHOUT_YNNPACK)
  return {}
