#!/usr/bin/env bash
# The GPU check: on a machine with an NVIDIA GPU, from the repository root. About 5 minutes on an
# H100 (the budget is 8). Writes its log and one JSON line per measurement to ${OUT:-/tmp/gpu_check}.
#
#   bash benchmarks/gpu_check.sh
#
# 1. JAX with CUDA. Where pip reaches a registry: the CUDA build of the pinned jax
#    (GPU_CHECK_INSTALL=1: pip install "jax[cuda12]==<pyproject's pin>"). The device machines lent to
#    this project reach nothing: there the image's own jax (0.11 with its CUDA plugin, flax, optax,
#    orbax) runs, with what it lacks carried as wheels in .whl/ (ml_collections; see
#    /work/.library/device/README.md), and the log says which jax ran.
# 2. The device-relevant tests: the attention seam (cuDNN's fused attention against the einsum path,
#    tests/test_attention.py), the models and the LoRA arithmetic. float32 matmuls at full
#    precision, as on CPU (GPUs default to TF32).
# 3. The train step at a GPU size in bfloat16 (12 x 768, batch 256 x 128): tokens/s and MFU, with
#    attention dropout (the einsum path) and without (cuDNN): benchmarks/gpu_step.py.
# 4. One epoch of the published-encoder SST-2 fine-tuning's compute: 2,105 steps at
#    all-MiniLM-L6-v2's shape, batch 32 x 64, on synthetic batches (the device machine has neither
#    ../shared's TFDS data nor TensorFlow, which the input pipeline needs).
set -uo pipefail
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
LOG="$OUT/gpu_check.log"
PY=${PYTHON:-python3}
status=0
step() { echo "== $* ($(date -u +%H:%M:%S))" | tee -a "$LOG"; }

step "1. JAX with CUDA"
if [ "${GPU_CHECK_INSTALL:-0}" = 1 ]; then
  pin=$(sed -n 's/^ *"jax==\([0-9.]*\)",$/\1/p' pyproject.toml)
  $PY -m pip install -q "jax[cuda12]==$pin" 2>&1 | tail -3 | tee -a "$LOG"
fi
if [ -d .whl ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl 2>&1 | tail -3 | tee -a "$LOG"
  export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
fi
export PYTHONPATH=$PWD:${PYTHONPATH:-}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee -a "$LOG"
$PY -c "import jax; print('jax', jax.__version__, jax.devices())" 2>&1 | tee -a "$LOG"
if ! $PY -c "import jax, sys; sys.exit(jax.default_backend() != 'gpu')"; then
  echo "JAX sees no GPU: stopping" | tee -a "$LOG"
  exit 1
fi

step "2. Device-relevant tests"
JAX_DEFAULT_MATMUL_PRECISION=highest timeout 240 $PY -m pytest -q -p no:cacheprovider \
  tests/test_attention.py tests/test_models.py \
  "tests/test_lora.py::test_a_fresh_adapter_computes_exactly_the_network_it_adapts" \
  "tests/test_lora.py::test_merged_adapters_compute_what_the_adapters_compute" \
  2>&1 | tail -15 | tee -a "$LOG" || status=1

step "3. Train step at 12 x 768, batch 256 x 128, bfloat16"
for dropout in 0.1 0.0; do
  timeout 150 $PY benchmarks/gpu_step.py --attention_dropout=$dropout 2>>"$LOG" \
    | tee -a "$OUT/gpu_check.jsonl" || status=1
done

step "4. One SST-2 epoch at all-MiniLM-L6-v2's shape"
timeout 150 $PY benchmarks/gpu_step.py --minilm_epoch 2>>"$LOG" \
  | tee -a "$OUT/gpu_check.jsonl" || status=1

step "done: status $status"
exit $status
