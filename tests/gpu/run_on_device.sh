#!/usr/bin/env bash
# Real-GPU checks of nbexp's GPU probe, for a fresh GPU machine: builds a small venv (no browser
# or notebook extras, so it takes seconds), runs tests/gpu and the real-NVML benchmark.
# Usage, from anywhere: bash tests/gpu/run_on_device.sh   (exit status: non-zero if any failed)
set -uo pipefail
cd "$(dirname "$0")/../.."

# Outside the repository, so it never shadows or trims the project's own .venv.
export UV_PROJECT_ENVIRONMENT="${UV_PROJECT_ENVIRONMENT:-${TMPDIR:-/tmp}/nbexp-gpu-venv}"

echo "== machine"
if command -v nvidia-smi >/dev/null; then nvidia-smi -L; else echo "nvidia-smi not found"; fi

if ! command -v uv >/dev/null; then
    echo "== installing uv"
    python3 -m pip install --quiet uv || python3 -m pip install --quiet --user uv || exit 1
    export PATH="$HOME/.local/bin:$PATH"
fi

echo "== venv in $UV_PROJECT_ENVIRONMENT"
# Only package registries may be reachable: prefer a Python already on the machine.
uv sync --no-dev --quiet --python-preference only-system \
    || uv sync --no-dev --quiet || exit 1
uv pip install --quiet --python "$UV_PROJECT_ENVIRONMENT/bin/python" "pytest>=8" "pytest-timeout>=2.3" \
    || exit 1

status=0
echo "== tests/gpu"
uv run --no-sync pytest tests/gpu -v -rs -p no:cacheprovider || status=$?
echo "== benchmark (fake NVML, simulated, real)"
uv run --no-sync python benchmarks/bench_gpu.py --real || status=$?
exit "$status"
