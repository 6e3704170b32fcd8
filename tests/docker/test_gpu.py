"""GPUs and the torch/CUDA images: the GPU request, lease and probe, the torch image's layering and the
CUDA layer's build from wheels are checked on any machine; the real runs need (and skip without) a GPU."""

from __future__ import annotations

import contextlib

import pytest

from grader.errors import InfrastructureError
from grader.sandbox.docker import GpuLease, gpu_lease_for
from grader.sandbox.image import gpus

HAS_GPU = bool(gpus())


@pytest.mark.skipif(HAS_GPU, reason="this machine has a GPU: the lease would succeed")
def test_asking_for_a_gpu_where_none_exists_is_an_infrastructure_error(monkeypatch):
    monkeypatch.delenv("DL_GRADER_GPUS", raising=False)
    with pytest.raises(InfrastructureError, match="has none"):
        GpuLease()


def test_one_job_per_gpu_at_a_time(monkeypatch, tmp_path):
    import grader.sandbox.docker as backend

    monkeypatch.setattr(backend, "GPU_LOCKS", tmp_path)
    monkeypatch.setenv("DL_GRADER_GPUS", "3,5")
    first, second = GpuLease(), GpuLease()
    assert {first.device, second.device} == {"3", "5"}
    with pytest.raises(InfrastructureError, match="no GPU became free"):
        GpuLease(wait_seconds=0.6)
    first.release()
    third = GpuLease(wait_seconds=0.6)
    assert third.device == first.device
    second.release()
    third.release()


def test_an_optional_gpu_is_taken_when_present_and_not_missed_when_absent(monkeypatch, tmp_path):
    import grader.sandbox.docker as backend

    monkeypatch.setattr(backend, "GPU_LOCKS", tmp_path)
    monkeypatch.setenv("DL_GRADER_GPUS", "")
    assert gpu_lease_for("optional") is None and gpu_lease_for(False) is None
    with pytest.raises(InfrastructureError, match="has none"):
        gpu_lease_for(True)
    monkeypatch.setenv("DL_GRADER_GPUS", "2")
    lease = gpu_lease_for("optional")
    assert lease is not None and lease.device == "2"
    lease.release()


@pytest.mark.docker
@pytest.mark.gpu
@pytest.mark.skipif(not HAS_GPU, reason="no NVIDIA GPU on this machine (nvidia-smi finds none)")
def test_a_gpu_assignment_sees_exactly_its_gpu(runner):
    source = "import glob\ndef devices():\n    return sorted(glob.glob('/dev/nvidia[0-9]*'))\n"
    r = runner(source, ["devices"], gpu=True)
    assert r.call("devices") == [f"/dev/nvidia{r.backend.environment()['gpu']['device']}"]


@pytest.mark.docker
def test_a_cpu_assignment_sees_no_gpu(runner):
    r = runner("import glob\ndef devices():\n    return glob.glob('/dev/nvidia*')\n", ["devices"])
    assert r.call("devices") == []


class ProbeEngine:
    """Stands in for the Docker SDK in the GPU probe: records the request, answers with `output`."""

    def __init__(self, output: bytes | Exception) -> None:
        self.output, self.asked = output, {}
        self.containers = self

    def run(self, image, command, **options):
        self.asked = {"image": image, "command": command, **options}
        if isinstance(self.output, Exception):
            raise self.output
        return self.output


def test_the_gpu_is_measured_in_a_locked_down_container_of_the_same_image_and_device():
    from grader.sandbox.docker import measure_gpu

    engine = ProbeEngine(b"NVIDIA H200, 143771 MiB, 570.86.15\nTrue\n")
    facts = measure_gpu(engine, "dl-grader-cuda:1", "3", torch=True)
    assert facts == {"device": "3", "measured_in": "dl-grader-cuda:1", "name": "NVIDIA H200",
                     "memory": "143771 MiB", "driver": "570.86.15", "torch_cuda": True}
    asked = engine.asked
    assert asked["image"] == "dl-grader-cuda:1" and asked["network_mode"] == "none"
    assert asked["cap_drop"] == ["ALL"] and asked["read_only"] and asked["user"] == "65534:65534"
    assert [r["DeviceIDs"] for r in asked["device_requests"]] == [["3"]]


def test_a_failed_gpu_probe_says_why_and_claims_no_cuda():
    import docker

    from grader.sandbox.docker import measure_gpu

    facts = measure_gpu(ProbeEngine(b"NVIDIA-SMI has failed\n"), "dl-grader:1", "0", torch=False)
    assert "nvidia-smi in the sandbox said" in facts["error"] and facts["torch_cuda"] is None
    facts = measure_gpu(ProbeEngine(docker.errors.APIError("no nvidia runtime")), "dl-grader:1", "0", torch=True)
    assert "probe container failed" in facts["error"] and "torch_cuda" not in facts


@pytest.mark.docker
@pytest.mark.gpu
@pytest.mark.slow
@pytest.mark.skipif(not HAS_GPU, reason="no NVIDIA GPU on this machine (nvidia-smi finds none)")
def test_the_pytorch_step_trains_on_the_gpu_and_the_report_says_which(engine, tmp_path):
    """On a GPU machine with `make image GPU=1`: the reference's tensors are on the GPU (checked through
    the proxy, not through get_device), the speedup part runs, and environment.gpu names the card."""
    from grader.pipeline.batch import grade_batch
    from grader.spec import find_assignment
    from tests.conftest import COURSE

    spec = find_assignment(COURSE, "16-pytorch")
    report = grade_batch(spec, [spec.solution], tmp_path, sandbox="docker", progress=None)["16-pytorch"]
    assert report["score"] == report["max_score"], [t["message"] for t in report["tests"] if t["score"] == 0]
    gpu = report["environment"]["gpu"]
    assert gpu["name"] and gpu["driver"] and gpu["torch_cuda"] is True, gpu
    assert report["environment"]["image"].startswith("dl-grader-cuda:")
    speedup = next(t for t in report["tests"] if t["name"].endswith("test_gpu_speedup"))
    assert speedup["status"] == "passed" and "faster" in speedup["figures"][0]["title"]


@pytest.mark.docker
def test_the_torch_image_is_a_layer_on_the_numpy_base_and_only_it_has_torch(engine):
    """Two images that share their base on disk: torch steps get torch, numpy steps stay lean."""
    from grader.sandbox.image import base_tag, ensure_image

    torch_image = engine.images.get(ensure_image(engine, variant="torch"))
    numpy_image = engine.images.get(ensure_image(engine))
    base_layers = engine.images.get(base_tag()).attrs["RootFS"]["Layers"]
    assert torch_image.attrs["RootFS"]["Layers"][:len(base_layers)] == base_layers
    assert numpy_image.attrs["RootFS"]["Layers"][:len(base_layers)] == base_layers
    probe = "import importlib.util as u; print(u.find_spec('torch') is not None)"
    run = {"network_mode": "none", "user": "65534:65534", "remove": True, "entrypoint": []}
    assert engine.containers.run(torch_image.id, ["python3", "-I", "-c", probe], **run).strip() == b"True"
    assert engine.containers.run(numpy_image.id, ["python3", "-I", "-c", probe], **run).strip() == b"False"


@pytest.mark.docker
def test_the_cuda_layer_builds_from_a_folder_of_wheels(engine, tmp_path):
    """`make image GPU=1` after the download: wheels unpacked onto the numpy base, importable by the
    runner's `python3 -I`, labelled with the CUDA version; a stand-in torch wheel keeps it to seconds."""
    import zipfile

    from grader.sandbox import cuda
    from grader.sandbox.image import base_tag, ensure_image

    ensure_image(engine)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    with zipfile.ZipFile(wheels / "torch-0.0-py3-none-any.whl", "w") as archive:
        archive.writestr("torch/__init__.py", "class version:\n    cuda = '12.4'\n\n\ndef ones(n):\n    return n\n")
    with zipfile.ZipFile(wheels / "nvidia_demo-1.0-py3-none-any.whl", "w") as archive:
        archive.writestr("nvidia/demo/lib/libdemo.so.1", b"\x7fELF")
    tag = "dl-grader-cuda-test:stand-in"
    try:
        cuda.build_cuda_base(engine, base_tag(), tag, log=lambda line: None, wheels=wheels)
        built = engine.images.get(tag)
        assert built.labels["dl-grader.cuda"] == cuda.CUDA_VERSION
        probe = "import torch, os; print(torch.__file__, os.path.exists('/usr/local/lib/python3.11/dist-packages/nvidia/demo/lib/libdemo.so.1'))"
        out = engine.containers.run(tag, ["python3", "-I", "-c", probe], network_mode="none",
                                    user="65534:65534", remove=True, entrypoint=[]).decode().split()
        assert out == [f"{cuda.SITE}/torch/__init__.py", "True"]
    finally:
        with contextlib.suppress(Exception):
            engine.images.remove(tag, force=True)


def test_a_cuda_build_without_a_torch_wheel_says_so(tmp_path):
    from grader.sandbox import cuda

    (tmp_path / "other-1.0-py3-none-any.whl").write_bytes(b"")
    with pytest.raises(InfrastructureError, match="no torch wheel"):
        cuda.build_cuda_base(None, "base:1", "tag:1", log=lambda line: None, wheels=tmp_path)
