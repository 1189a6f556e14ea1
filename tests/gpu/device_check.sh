#!/usr/bin/env bash
# The real-GPU checks, for a GPU machine that can reach no package registry but has python3 with
# nvidia-ml-py, psutil, pytest and torch (the lent H200 image): no venv, nbexp from src/.
# Also shows `nbexp gpus` and a GPU conflict with a process outside nbexp.
set -uo pipefail
cd "$(dirname "$0")/../.."
export PYTHONPATH=src PYTHONUNBUFFERED=1 NBEXP_HOME="$(mktemp -d)"
status=0
nvidia-smi --query-gpu=index,name,memory.used,memory.total,utilization.gpu,temperature.gpu,power.draw --format=csv
python3 -m pytest tests/gpu -v -rs -p no:cacheprovider -o addopts="" || status=$?
python3 benchmarks/bench_gpu.py --real || status=$?
# A process outside nbexp takes 2 GiB on GPU 0: nbexp must refuse GPU 0 and name that pid.
python3 -c "import torch,time; x=torch.empty(2**29, device='cuda'); print('foreign ready', flush=True); time.sleep(60)" &
foreign=$!
for _ in $(seq 60); do nvidia-smi --query-compute-apps=pid --format=csv,noheader | grep -q . && break; sleep 0.5; done
python3 -m nbexp gpus
python3 -m nbexp run --gpus 0, -- python3 -c "print(1)"; echo "run exit status: $? (1 = refused)"
python3 -m nbexp run --gpus 0, --queue -- python3 -c "print('ran after the foreign job ended')"
kill "$foreign"; wait "$foreign" 2>/dev/null
python3 -m nbexp wait 2 --timeout 60; python3 -m nbexp ls; python3 -m nbexp logs 2
exit "$status"
