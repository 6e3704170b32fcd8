"""GPU passthrough: the request is checked on any machine; the real run needs (and skips without) a GPU."""

from __future__ import annotations

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
    assert r.call("devices") == [f"/dev/nvidia{r.backend.environment()['gpu']}"]


@pytest.mark.docker
def test_a_cpu_assignment_sees_no_gpu(runner):
    r = runner("import glob\ndef devices():\n    return glob.glob('/dev/nvidia*')\n", ["devices"])
    assert r.call("devices") == []
