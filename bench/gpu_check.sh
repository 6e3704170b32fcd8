#!/bin/sh
# The CUDA path end to end, on a machine with an NVIDIA GPU, Docker and the NVIDIA Container Toolkit:
#   bench/gpu_check.sh              (WHEELS=DIR: take torch's CUDA wheels from DIR instead of PyPI)
# 1. builds dl-grader-cuda (`make image GPU=1`: PyPI's torch CUDA wheels on the offline numpy base),
# 2. prints nvidia-smi from inside that image, with the GPU handed over as the grader hands it,
# 3. grades the 16-pytorch examples under docker (gpu = "optional": they run on the GPU),
# 4. prints environment.gpu as the grader measured it, and the CPU/GPU speedup of the reference.
# It exits non-zero when any step fails, when an example misses its pinned score, or when the reference
# did not train on the GPU. Nothing here is a test the CI runs: CI machines have no GPU.
set -eu
cd "$(dirname "$0")/.."
PY=.venv/bin/python
out=${OUT:-out/gpu-check}

command -v nvidia-smi >/dev/null || { echo "gpu_check: no nvidia-smi: this machine has no NVIDIA driver" >&2; exit 2; }
echo "== the host's GPUs"
nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv
make install >/dev/null
echo "== grader doctor"
.venv/bin/grader doctor || true

echo "== building dl-grader-cuda"
started=$(date +%s)
if [ -n "${WHEELS:-}" ]; then
    $PY -m grader.sandbox.image --only numpy
    $PY -m grader.sandbox.image --only cuda --gpu --wheels "$WHEELS"
else
    make image GPU=1
fi
echo "image ready in $(( $(date +%s) - started )) s"
image=$($PY -c "from grader.sandbox.image import image_tag; print(image_tag('cuda'))")
docker images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep '^dl-grader' || true

echo "== nvidia-smi inside $image (one GPU, no network, as nobody)"
docker run --rm --gpus device=0 --network none --user 65534:65534 --cap-drop ALL --read-only \
    -e NVIDIA_DRIVER_CAPABILITIES=compute,utility --entrypoint nvidia-smi "$image"
docker run --rm --gpus device=0 --network none --user 65534:65534 --cap-drop ALL --read-only "$image" \
    python3 -I -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'sees', torch.cuda.get_device_name(0))"

echo "== grading the 16-pytorch examples on the GPU"
.venv/bin/grader examples 16-pytorch --sandbox docker --out "$out" --force

echo "== what the reports say"
$PY - "$out/16-pytorch" <<'PY'
import json, pathlib, sys
folder = pathlib.Path(sys.argv[1])
reference = json.loads((folder / "reference.json").read_text())
print("environment.gpu:", json.dumps(reference["environment"].get("gpu")))
tests = {t["name"].split("::")[-1]: t for t in reference["tests"]}
placement, speedup = tests["test_device_placement"], tests["test_gpu_speedup"]
print("device placement:", placement["status"], placement["message"] or "(trained on the GPU)")
if speedup["status"] == "passed":
    figure = speedup["figures"][0]
    cpu, gpu = min(figure["series"]["cpu"]), min(figure["series"]["cuda"])
    print(f"CPU/GPU: {cpu:.3f} s vs {gpu:.4f} s per SGD step: {cpu / gpu:.1f}x ({figure['title']})")
else:
    print("speedup part:", speedup["status"], speedup["message"])
gpu = reference["environment"].get("gpu") or {}
sys.exit(0 if placement["status"] == "passed" and gpu.get("torch_cuda") and speedup["status"] == "passed" else 1)
PY
