"""The sandbox's image variants (numpy, torch, cuda) and the interpreter of the local runner: which one a
step gets, what names them, and the CUDA layer's recipe up to the download (no engine needed)."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from grader.errors import InfrastructureError
from grader.sandbox import cuda, image, recipe
from grader.sandbox.interpreter import runner_interpreter


def test_a_step_that_needs_torch_gets_the_torch_image_and_the_cuda_one_with_a_gpu():
    assert image.variant_for(()) == image.variant_for((), gpu=True) == "numpy"
    assert image.variant_for(("torch",)) == "torch"
    assert image.variant_for(("torch",), gpu=True) == "cuda"


def test_each_variant_has_its_own_repository_and_the_torch_base_is_a_layer_on_the_numpy_base(monkeypatch):
    for variant in ("DL_GRADER_BASE", "DL_GRADER_TORCH_BASE", "DL_GRADER_CUDA_BASE"):
        monkeypatch.delenv(variant, raising=False)
    tags = {variant: image.image_tag(variant) for variant in recipe.VARIANTS}
    assert [t.split(":")[0] for t in tags.values()] == ["dl-grader", "dl-grader-torch", "dl-grader-cuda"]
    assert image.base_tag("torch").startswith("dl-grader-torch-base:")
    # The torch layer is named by its base too: a new numpy base means a new torch layer.
    monkeypatch.setenv("DEBIAN_SUITE", "trixie")
    moved = image.base_tag("torch")
    monkeypatch.delenv("DEBIAN_SUITE")
    assert moved != image.base_tag("torch")
    with pytest.raises(ValueError, match="unknown image variant"):
        image.base_tag("tensorflow")


def test_a_registry_base_can_replace_the_torch_layer(monkeypatch):
    monkeypatch.setenv("DL_GRADER_TORCH_BASE", "example/torch:1")
    assert image.base_tag("torch") == "example/torch:1"
    assert image.image_tag("torch").startswith("dl-grader-torch:")


def test_the_layer_script_is_valid_shell_and_refuses_a_call_without_packages():
    script = recipe.SANDBOX_DIR / "build-layer.sh"
    assert subprocess.run(["sh", "-n", str(script)]).returncode == 0
    proc = subprocess.run(["sh", str(script), "base:1", "tag:1", "import torch"], capture_output=True, text=True)
    assert proc.returncode == 2 and "name at least one Debian package" in proc.stderr


def test_the_cuda_image_is_never_built_unasked(monkeypatch):
    class Engine:
        class images:  # noqa: N801 - the SDK's shape
            @staticmethod
            def get(tag):
                import docker

                raise docker.errors.ImageNotFound(tag)

    with pytest.raises(InfrastructureError, match="make image GPU=1"):
        image.ensure_image(Engine(), variant="cuda")


def test_the_cuda_dockerfile_copies_the_wheels_onto_the_numpy_base_and_checks_cuda():
    text = cuda.dockerfile("dl-grader-base:abc")
    lines = text.splitlines()
    assert "FROM dl-grader-base:abc" in lines
    assert f"COPY site-packages/ {cuda.SITE}/" in lines
    assert f'dl-grader.cuda="{cuda.CUDA_VERSION}"' in text and cuda.TORCH_SPEC in text
    assert "torch.version.cuda" in lines[-1] and lines[-1].startswith("RUN ")
    assert "pull" not in text.lower()  # nothing from a registry


def test_unpacking_a_wheel_installs_its_libraries_and_refuses_a_path_escape(tmp_path):
    wheel = tmp_path / "nvidia_demo-1.0-py3-none-manylinux1_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("nvidia/demo/lib/libdemo.so.1", b"\x7fELF")
        archive.writestr("nvidia_demo-1.0.data/purelib/demo_extra.py", "x = 1\n")
        archive.writestr("nvidia_demo-1.0.data/scripts/demo", "#!/bin/sh\n")
    site = tmp_path / "site"
    cuda.unpack([wheel], site)
    assert (site / "nvidia/demo/lib/libdemo.so.1").read_bytes() == b"\x7fELF"
    assert (site / "demo_extra.py").is_file() and not (site / "demo").exists()
    evil = tmp_path / "evil-1.0-py3-none-any.whl"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("../escape.py", "")
    with pytest.raises(InfrastructureError, match="unsafe path"):
        cuda.unpack([evil], site)


@pytest.mark.parametrize("image_cuda,driver_cuda,ok", [("12.4", "12.4", True), ("12.4", "12.8", True),
                                                       ("12.4", "13.0", True), ("12.4", "12.2", False),
                                                       ("12.4", "11.8", False), ("12.4", None, False)])
def test_doctor_says_whether_the_driver_runs_the_cuda_image(image_cuda, driver_cuda, ok):
    assert cuda.driver_supports(image_cuda, driver_cuda) is ok


@pytest.mark.slow
def test_the_cuda_wheels_resolve_from_pypi_for_the_images_python():
    """The build up to the download: pip resolves torch and its nvidia-* CUDA wheels (metadata only)."""
    wheels = {w["name"].lower().replace("_", "-"): w for w in cuda.plan()}
    assert "torch" in wheels and wheels["torch"]["version"] == cuda.TORCH_SPEC.split("==")[1]
    assert any(name.startswith("nvidia-cublas") for name in wheels), sorted(wheels)
    assert all(w["url"].endswith(".whl") for w in wheels.values())


def test_the_local_runner_uses_the_graders_python_unless_a_step_needs_more():
    assert runner_interpreter(()).executable == sys.executable
    assert runner_interpreter(("no_such_module_anywhere",)).executable == sys.executable


def test_the_local_runner_of_a_torch_step_has_torch():
    """`make install` puts Debian's python3-torch in; without it 16-pytorch would be skipped locally."""
    found = runner_interpreter(("torch",))
    proc = subprocess.run([found.executable, "-I", "-c", "import torch, numpy; print(torch.__version__)"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, f"no interpreter with torch (run `make install` as root): {proc.stderr[-500:]}"
    # What the jail shows of it: its installation, never the course's own checkout.
    course = str(recipe.SANDBOX_DIR.parent)
    assert found.paths and course not in found.paths


def test_a_run_with_a_base_override_never_prunes_the_images_built_without_it(monkeypatch):
    monkeypatch.delenv("DL_GRADER_TORCH_BASE", raising=False)
    built = {image.base_tag("torch"), cuda.libs_tag(image.base_tag()), image.base_tag("cuda")}
    monkeypatch.setenv("DL_GRADER_TORCH_BASE", "example/torch:1")
    keep = image._current_tags()
    assert built <= keep and "example/torch:1" in keep


def test_the_cuda_layer_sits_on_a_debian_layer_with_the_wheels_cpp_runtime():
    libs = cuda.libs_tag(image.base_tag())
    assert libs.startswith("dl-grader-cuda-libs:") and "libstdc++6" in cuda.DEBS
    assert cuda.dockerfile(libs).splitlines()[1] == f"FROM {libs}"
