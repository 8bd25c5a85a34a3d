#!/usr/bin/env bash
# The GPU suite in one command: the kernels' correctness on this GPU, then the benchmarks.
#
#   bash benchmarks/gpu_suite.sh            # everything, stage by stage
#   bash benchmarks/gpu_suite.sh tests      # or one stage: tests | shapes | sweep | float16
#
# Results go to benchmarks/results/<gpu>/ (<gpu> from the device kind, e.g.
# nvidia-h100-80gb-hbm3): nvidia-smi.txt and pip-freeze.txt (the machine), gpu-tests.txt
# (pytest of the compiled Pallas kernels and of cuDNN, which are skipped off-GPU), and one
# .json/.md (and .png for the sweep) per benchmark stage. Every stage runs in its own process
# under a time limit (STAGE_TIMEOUT seconds, default 540: sessions allow 10 minutes a
# command), so a stage that fails or hangs costs only itself; the script says which failed and
# exits non-zero.
#
# Environment: PYTHON (default: python), STAGE_TIMEOUT, REPEATS (default 20).
# Nothing here has run on a GPU yet; the first run is also the first test of the kernels on one.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
STAGE_TIMEOUT=${STAGE_TIMEOUT:-540}
REPEATS=${REPEATS:-20}
STAGE=${1:-all}

case "$STAGE" in
  all | tests | shapes | sweep | float16) ;;
  *) echo "usage: $0 [all|tests|shapes|sweep|float16]" >&2; exit 2 ;;
esac

backend=$("$PYTHON" -c "import jax; print(jax.default_backend())") || exit 2
if [ "$backend" != "gpu" ]; then
  echo "gpu_suite.sh: JAX's default backend is '$backend', not a GPU; nothing to do." >&2
  echo "(off-GPU: python benchmarks/bench_rnn.py --quick --gpu-suite checks the harness)" >&2
  exit 2
fi
name=$("$PYTHON" -c "import jax, re; kind = jax.devices()[0].device_kind.lower(); \
print(re.sub(r'[^a-z0-9]+', '-', kind).strip('-'))")
out="benchmarks/results/$name"
mkdir -p "$out"
echo "gpu_suite.sh: $name -> $out"
nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || true
"$PYTHON" -m pip freeze > "$out/pip-freeze.txt" 2>&1 || true

failed=()
run() {  # run STAGE-NAME COMMAND...: one stage, time-limited, logged to $out/STAGE-NAME.log
  local stage=$1; shift
  echo "== $stage: $*"
  local start=$SECONDS
  timeout "$STAGE_TIMEOUT" "$@" 2>&1 | tee "$out/$stage.log"
  local status=${PIPESTATUS[0]}
  echo "== $stage: exit $status after $((SECONDS - start)) s"
  [ "$status" -eq 0 ] || failed+=("$stage (exit $status)")
}

bench=("$PYTHON" benchmarks/bench_rnn.py --gpu-suite --repeats "$REPEATS")

if [ "$STAGE" = all ] || [ "$STAGE" = tests ]; then
  # The compiled Triton kernels and cuDNN against the scan (interpret mode off-GPU).
  run gpu-tests "$PYTHON" -m pytest -q -ra tests/test_pallas.py tests/test_cudnn.py
fi
if [ "$STAGE" = all ] || [ "$STAGE" = shapes ]; then
  # B=16 T=1024 at I=H=768, 128, 256; LSTM and GRU; float32 and bfloat16; every strategy with
  # the Pallas tiling variants, torch (cuDNN) and jax.experimental.rnn; the latency floor.
  run gpu-shapes "${bench[@]}" --sweep none --pallas-variants --tag gpu-shapes
fi
if [ "$STAGE" = all ] || [ "$STAGE" = sweep ]; then
  # B from 2 to 256 at T=1024, I=H=768, bfloat16 (the dtype the fused kernels are for).
  run gpu-sweep-B "${bench[@]}" --shapes none --sweep B --dtype bfloat16 \
    --tag gpu-sweep-B-bfloat16
fi
if [ "$STAGE" = all ] || [ "$STAGE" = float16 ]; then
  # The published anchor's dtype: torch cuDNN fp16 at B=16 T=1024 I=H=768 (LSTM).
  run gpu-float16 "${bench[@]}" --sweep none --shapes 16x1024x768x768 --cells lstm \
    --dtype float16 --tag gpu-float16
fi

if [ ${#failed[@]} -gt 0 ]; then
  printf 'gpu_suite.sh: failed stages: %s\n' "${failed[*]}" >&2
  exit 1
fi
echo "gpu_suite.sh: all stages done; results in $out"
