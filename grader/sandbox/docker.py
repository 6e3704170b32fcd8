"""The docker backend: each runner in a fresh, hardened container of the offline sandbox image.

A container has no network, runs as nobody with every capability dropped and no-new-privileges, on a
read-only root with a size-capped /tmp, with memory (no swap), pids, CPU, open files, core and file
size capped, and only the environment given here. The runtime and the submission are bind-mounted
read-only. The protocol travels over a unix socket in a folder only that container mounts
(`ChannelListener`): the judge accepts one connection, from a process of that container as nobody,
and then removes the socket. Where the judge cannot check who connects (not root), or with
GRADER_DOCKER_CHANNEL=attach, it travels over docker's attach stream instead (requests on stdin,
replies on stdout; 2-5 times a socket's cost per call). Student prints (stderr) are split off the attach
stream by a pump thread into the capped OutputBuffer, so nothing the student writes can reach a
frame, a log file or the host's disk.

It must never leave a container behind: each one is labelled (`dl-grader=1`, job, owner pid), removed
on close, at exit, and by the next backend when its owner died; a lifetime cap inside the container
(`timeout -s KILL`) ends a runner whose grader vanished. Engine failures are InfrastructureErrors,
never a student's zero.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import select
import shutil
import signal
import socket
import struct
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable

from grader import jobdirs
from grader.runtime import wire
from grader.errors import InfrastructureError
from grader.janitor import LABEL, claimant
from grader.sandbox import BOOTSTRAP, RUNNER_ENV, OutputBuffer, RunnerConfig, socket_channel, write_runtime
from grader.spec import Limits
from grader.sandbox.image import connect, ensure_image, gpus, image_id, image_present, image_tag, variant_for
from grader.sandbox.local import JAIL_RUNTIME, JAIL_WORKSPACE, NOBODY

HOST = socket.gethostname()
# The host-side backstop for one container's life: the judge's own deadlines (per call, per import,
# total) come first; this only ends a runner the judge forgot, e.g. between tests of a stuck judge.
WALL_GRACE_SECONDS = 300
# Inside the container, a little later still: the runner ends even when the whole grader is gone.
LIFETIME_GRACE_SECONDS = 60
# How much longer than its idle time a warm runner waits for a judge (or its idle time again, if shorter).
WARM_MARGIN_SECONDS = 60
GPU_LOCKS = Path(tempfile.gettempdir())
STREAM_HEADER = struct.Struct(">BxxxI")  # docker's multiplexed stream: type (1 out, 2 err), size
CHANNEL_MOUNT = "/run/grader"  # where a runner finds its channel's socket (a folder of its own)
CHANNEL_SOCKET = "channel.sock"
RUNNER_SOCKET = f"{CHANNEL_MOUNT}/{CHANNEL_SOCKET}"  # the path a runner's config names
# Seconds for a runner to connect (Python and numpy starting in a new container, on a busy machine).
CONNECT_SECONDS = 60


def _engine_errors() -> tuple[type[BaseException], ...]:
    """What a failing engine raises through the SDK: its own errors, and the HTTP layer's."""
    import docker
    import requests

    return docker.errors.DockerException, requests.exceptions.RequestException, OSError


ENGINE_ERRORS = _engine_errors()


def container_lifetime(limits: Limits) -> int:
    """Seconds after which the container's own `timeout` kills the runner, even with the grader gone."""
    return int(limits.total_seconds + limits.import_seconds + WALL_GRACE_SECONDS + LIFETIME_GRACE_SECONDS)


def container_options(config: RunnerConfig, limits: Limits, *, image: str, runtime: Path, job: str,
                      gpu: str | None = None, channel: Path | None = None) -> dict[str, Any]:
    """The arguments of `containers.create` for one runner: every limit and mount in one pure value.

    `gpu` is the device id (index or UUID) this job holds, or None: a container gets a GPU only when
    the assignment asks for one, and then exactly the one its job has locked. `channel` is the folder
    of its channel's socket (bound read-only at CHANNEL_MOUNT), or None for the attach stream.
    """
    from docker.types import DeviceRequest, LogConfig

    runner_config = {**config.as_json(workspace=JAIL_WORKSPACE, scratch="/tmp"),
                     **({"channel": RUNNER_SOCKET} if channel else {})}
    options: dict[str, Any] = {
        "image": image,
        "command": ["timeout", "-s", "KILL", str(container_lifetime(limits)),
                    "python3", "-I", "-c", BOOTSTRAP, JAIL_RUNTIME, json.dumps(runner_config)],
        "entrypoint": [],
        "environment": dict(RUNNER_ENV),
        "user": f"{NOBODY}:{NOBODY}",
        "working_dir": "/tmp",
        "hostname": "runner",
        # owner: the judge that removes it; grader: the batch that judge belongs to (its parent).
        "labels": {LABEL: "1", f"{LABEL}.job": job, f"{LABEL}.owner": f"{HOST}:{os.getpid()}",
                   f"{LABEL}.grader": f"{HOST}:{os.getppid()}"},
        "stdin_open": True, "tty": False, "detach": True,
        "network_mode": "none",
        "ipc_mode": "none",  # no /dev/shm: no second writable tmpfs, no shared memory with anyone
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "read_only": True,
        "tmpfs": {"/tmp": f"rw,nosuid,nodev,noexec,size={limits.disk_mb}m,mode=1777"},
        "mounts": _mounts(config, runtime, channel),
        **_resource_limits(limits),
        # No log driver: a flood must not fill the host's disk through docker's json logs.
        "log_config": LogConfig(type=LogConfig.types.NONE),
        "oom_score_adj": 500,  # under host memory pressure a runner goes before the grader
    }
    if gpu is not None:
        options["device_requests"] = [DeviceRequest(device_ids=[gpu], capabilities=[["gpu"]])]
    return options


def _mounts(config: RunnerConfig, runtime: Path, channel: Path | None) -> list:
    """The runtime, the submission and (for the socket channel) the channel's folder, all read-only."""
    from docker.types import Mount

    binds = {JAIL_RUNTIME: runtime, JAIL_WORKSPACE: Path(config.workspace).resolve(), CHANNEL_MOUNT: channel}
    return [Mount(target, str(source), type="bind", read_only=True) for target, source in binds.items() if source]


def warm_container_options(needs: tuple[str, ...], limits: Limits, *, image: str, runtime: Path, slot: Path,
                           job: str, pool: str, idle_seconds: float) -> dict[str, Any]:
    """A cold runner's options for a warm one (grader.sandbox.warm): its workspace is the empty `slot`
    the judge fills later, its runner imports `needs` and waits for its config as the first frame, and
    its lifetime cap counts the time it may wait. Owned by the pool's process until a judge adopts it."""
    options = container_options(RunnerConfig(slot, {}, 0, needs=needs), limits, image=image, runtime=runtime,
                                job=job, channel=channel_folder(slot) if socket_channel() else None)
    lifetime = container_lifetime(limits) + int(idle_seconds)
    # Its runner waits for a judge a little longer than its pool or shelf hands it out (so a judge that
    # took it at the last moment still finds it), then ends: the cap is for a runner that went astray.
    wait = idle_seconds + min(idle_seconds, WARM_MARGIN_SECONDS)
    options["command"] = ["timeout", "-s", "KILL", str(lifetime), "python3", "-I", "-c", BOOTSTRAP, JAIL_RUNTIME,
                          json.dumps({"warm": True, "preload": list(needs), "wait": wait})]
    owner = f"{HOST}:{os.getpid()}"
    options["labels"].update({f"{LABEL}.owner": owner, f"{LABEL}.grader": owner, f"{LABEL}.pool": pool})
    return options


def _resource_limits(limits: Limits) -> dict[str, Any]:
    """Memory, processes, CPU and the rlimits of one runner container: the local backend's numbers."""
    from docker.types import Ulimit

    cpu_seconds = int(limits.total_seconds) + 5  # as the local backend's RLIMIT_CPU
    return {
        "mem_limit": f"{limits.memory_mb}m",
        "memswap_limit": f"{limits.memory_mb}m",  # equal: no swap, so the memory cap is the real one
        "pids_limit": limits.pids,
        "nano_cpus": int(limits.cpus * 1e9),
        "ulimits": [Ulimit(name="nofile", soft=limits.open_files, hard=limits.open_files),
                    Ulimit(name="core", soft=0, hard=0),
                    Ulimit(name="fsize", soft=limits.disk_mb << 20, hard=limits.disk_mb << 20),
                    Ulimit(name="cpu", soft=cpu_seconds, hard=cpu_seconds + 5)],
    }


def channel_folder(slot: Path) -> Path:
    """The channel folder of the warm container whose workspace is `slot`: beside it, removed with it."""
    return slot.with_name(slot.name + ".channel")


def remove_slot(slot: Path | str) -> None:
    """A warm container's slot and its channel folder."""
    shutil.rmtree(slot, ignore_errors=True)
    shutil.rmtree(channel_folder(Path(slot)), ignore_errors=True)


class ChannelListener:
    """The judge's end of one runner's channel: a socket in a folder that only that runner's container
    mounts, reachable by uid nobody alone, that accepts one connection from a process of that
    container and is then removed."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(mode=0o700, exist_ok=True)
        os.chown(folder, NOBODY, NOBODY)
        self.path = folder / CHANNEL_SOCKET
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            _bind(self.sock, folder)
            os.chown(self.path, NOBODY, NOBODY)
            os.chmod(self.path, 0o600)
            self.sock.listen(4)
        except OSError:
            self.close()
            raise
        self.sock.setblocking(False)

    def accept(self, container_pid: int, *, alive: Callable[[], bool], deadline: float) -> int:
        """The connected fd of the container's runner; an InfrastructureError if its container ended
        first or nothing of it connected by `deadline`. Connections from anyone else are closed."""
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise InfrastructureError(f"the runner did not connect to its channel within "
                                              f"{CONNECT_SECONDS} s (GRADER_DOCKER_CHANNEL=attach uses docker's "
                                              "attach stream instead)")
                if not select.select([self.sock], [], [], min(0.2, remaining))[0]:
                    if not alive():
                        raise InfrastructureError("the runner's container ended before its runner connected")
                    continue
                with contextlib.suppress(BlockingIOError):
                    conn, _ = self.sock.accept()
                    if _peer_in(conn, container_pid) and _accepted(conn):
                        conn.setblocking(False)
                        return conn.detach()
                    conn.close()
        finally:
            self.close()

    def close(self) -> None:
        self.sock.close()
        with contextlib.suppress(OSError):
            self.path.unlink()


def _listener(folder: Path) -> ChannelListener | None:
    """A listener in `folder` where the socket channel is on; None (the attach stream) where it is off
    or the socket cannot be made (no /proc, a file system without sockets)."""
    if not socket_channel():
        return None
    try:
        return ChannelListener(folder)
    except OSError:
        return None


def _bind(sock: socket.socket, folder: Path) -> None:
    """Bind CHANNEL_SOCKET in `folder` through /proc/self/fd: a socket's path may be 107 bytes at most,
    and a job folder under a deep TMPDIR is longer than that."""
    fd = os.open(folder, os.O_PATH | os.O_DIRECTORY)
    try:
        sock.bind(f"/proc/self/fd/{fd}/{CHANNEL_SOCKET}")
    finally:
        os.close(fd)


def _peer_in(conn: socket.socket, container_pid: int) -> bool:
    """Whether the connected process runs as nobody in the pid namespace of the container's first process."""
    pid, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    if uid != NOBODY or pid <= 0 or container_pid <= 0:
        return False
    try:
        theirs, ours = os.stat(f"/proc/{pid}/ns/pid"), os.stat(f"/proc/{container_pid}/ns/pid")
    except OSError:
        return False
    return (theirs.st_dev, theirs.st_ino) == (ours.st_dev, ours.st_ino)


def _accepted(conn: socket.socket) -> bool:
    """Tell the runner it may go on. It waits for this before importing the submission, so a judge
    slowed by pytest's hold on the GIL still finds it alive to check. Without the wait, a submission
    that exits at import had ended it first and was refused as a stranger: an infra_error, 1 of 142 in
    `make grade`, and 1 of 23 in the hostile batch at -j 2."""
    try:
        conn.settimeout(CONNECT_SECONDS)
        conn.sendall(wire.CHANNEL_ACCEPTED)
        return True
    except OSError:  # it went away meanwhile
        return False


class DockerProcess:
    """One runner container: the channel to it, and the facts of how it ended."""

    def __init__(self, client, options: dict, limits: Limits, output: OutputBuffer, *,
                 adopt: str | None = None) -> None:
        """A new container made from `options`, or (`adopt`) the running warm container of that id,
        whose runner writes nothing before its config frame, so attaching late misses nothing."""
        self.limits, self.output = limits, output
        self.reason: str | None = None  # set when this side stopped it for a limit of its own
        self.killed = False
        self.removed = False  # the engine confirmed the container gone: no sweep needs to look for it
        self.pids_hit = 0
        self._printed = 0
        self._closed = False
        self._cgroups: list[Path] = []
        self._open(client, options, adopt)
        self._cgroups = _cgroup_dirs(self.container.attrs["State"].get("Pid") or 0)
        self._raw.setblocking(False)
        self._pipe_r, self._pipe_w = os.pipe()
        self._on_socket = False  # once the frames travel over the socket, stdout is dropped
        self.channel = wire.Channel(self._pipe_r, self._raw.fileno(), max_frame_bytes=limits.frame_mb << 20)
        wall = limits.total_seconds + limits.import_seconds + WALL_GRACE_SECONDS
        self._watchdog = threading.Timer(wall, self._stop_for, [f"wall-clock limit: the runner's container "
                                                                 f"was still alive after {wall:g} s"])
        self._watchdog.daemon = True
        self._pump = threading.Thread(target=self._demultiplex, daemon=True)
        self._pump.start()
        self._watchdog.start()

    def _open(self, client, options: dict, adopt: str | None) -> None:
        """Create (or find), attach and start the container; what fails here is the engine's fault."""
        try:
            self.container = client.containers.get(adopt) if adopt else client.containers.create(**options)
        except ENGINE_ERRORS as exc:
            raise InfrastructureError(f"the Docker engine could not {'find a warm' if adopt else 'create a'} "
                                      f"runner container: {exc}") from None
        try:
            # Attached before it starts, so not one byte of the first frame is missed.
            self._sock = self.container.attach_socket(params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            self._raw: socket.socket = getattr(self._sock, "_sock", self._sock)
            if not adopt:
                self.container.start()
            self.container.reload()
            if adopt and self.container.status != "running":
                raise InfrastructureError(f"the warm runner container {adopt[:12]} is {self.container.status}")
        except ENGINE_ERRORS as exc:  # the engine refused, or went away between create and start
            self._remove()
            raise InfrastructureError(f"the Docker engine could not start a runner container: {exc}") from None
        except BaseException:  # Ctrl-C between create and start: not yet ours to close, so remove it here
            self._remove()
            raise

    def use_socket(self, listener: ChannelListener) -> None:
        """From now on the frames travel over the socket its runner connects to (CONNECT_SECONDS)."""
        pid = self.container.attrs["State"].get("Pid") or 0
        try:
            fd = listener.accept(pid, alive=self._pump.is_alive, deadline=time.monotonic() + CONNECT_SECONDS)
        except InfrastructureError as exc:
            printed = self.output.text()[0].strip()[-1000:]
            raise InfrastructureError(f"{exc}{': ' + printed if printed else ''}") from None
        self._on_socket = True
        self.channel = wire.Channel(fd, fd, max_frame_bytes=self.limits.frame_mb << 20)

    # -- the stream ---------------------------------------------------------------------------------
    def _demultiplex(self) -> None:
        """Split docker's stream: stdout into the channel's pipe, stderr into the capped output."""
        buffer = bytearray()
        fd = self._raw.fileno()
        try:
            while True:
                select.select([fd], [], [])
                try:
                    chunk = self._raw.recv(1 << 20)
                except BlockingIOError:
                    continue
                except OSError:
                    return
                if not chunk:
                    return
                buffer += chunk
                while len(buffer) >= STREAM_HEADER.size:
                    kind, size = STREAM_HEADER.unpack_from(buffer)
                    if len(buffer) < STREAM_HEADER.size + size:
                        break
                    payload = bytes(buffer[STREAM_HEADER.size:STREAM_HEADER.size + size])
                    del buffer[:STREAM_HEADER.size + size]
                    if kind == 1 and not self._on_socket:
                        _write_all(self._pipe_w, payload)
                    elif kind == 2:
                        self._print(payload)
        except (BrokenPipeError, OSError, ValueError):
            return  # the judge closed its end: nothing more to deliver
        finally:
            os.close(self._pipe_w)

    def _print(self, payload: bytes) -> None:
        self.output.add(payload)
        self._printed += len(payload)
        if self._printed > self.limits.output_kill_mb << 20 and self.reason is None:
            self._stop_for(f"output limit: the runner printed more than {self.limits.output_kill_mb} MB "
                           f"(output_kill_mb={self.limits.output_kill_mb}; the report keeps the first "
                           f"{self.limits.output_kb} KB)")

    # -- ending ---------------------------------------------------------------------------------------
    def _stop_for(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
        self.kill()

    def kill(self) -> None:
        import docker

        self._watchdog.cancel()
        self.pids_hit = max(self.pids_hit, _pids_max_events(self._cgroups))
        # The attach stream first: a runner flooding it while the judge no longer reads (a refused
        # frame) blocks the engine's copy of its output, and with it the kill (60 s, an infra_error).
        with contextlib.suppress(OSError):
            self._raw.shutdown(socket.SHUT_RDWR)
        if self.killed:  # close() after the judge's kill: asking again costs an engine call and a 409
            return
        try:
            self.container.kill()
            self.killed = True
        except docker.errors.NotFound:
            pass
        except ENGINE_ERRORS as exc:
            if getattr(exc, "status_code", None) != 409:  # 409: it had already stopped
                raise InfrastructureError(f"the Docker engine could not stop a runner: {exc}") from None

    def ended(self, within: float) -> bool:
        try:
            self.container.wait(timeout=within)
        except ENGINE_ERRORS:  # the wait's own timeout too
            return False
        return True

    def ending(self) -> str:
        try:
            self.container.wait(timeout=10)
            self.container.reload()
        except ENGINE_ERRORS as exc:
            return f"the runner's container could not be inspected ({exc})"
        self._pump.join(timeout=2)
        state = self.container.attrs["State"]
        return describe_ending(state, self.limits, reason=self.reason, killed=self.killed,
                               pids_hit=self.pids_hit)

    def close(self) -> None:
        # Exactly once: a second os.close of a number the first freed could close someone else's file.
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(InfrastructureError):
            self.kill()
        with contextlib.suppress(OSError):
            self._raw.shutdown(socket.SHUT_RDWR)  # wakes the pump's select with an end of stream
        self._pump.join(timeout=5)
        fds = {self._pipe_r, self.channel.read_fd}
        for closing in (*(lambda fd=fd: os.close(fd) for fd in fds), self._sock.close, self._raw.close):
            with contextlib.suppress(OSError):
                closing()
        self._remove()

    def _remove(self) -> None:
        import docker

        for _ in range(3):
            try:
                self.container.remove(force=True)
                self.removed = True
                return
            except docker.errors.NotFound:
                self.removed = True
                return
            except ENGINE_ERRORS:
                time.sleep(0.2)
        # What is left is labelled with its owner: the next backend's sweep removes it.


def describe_ending(state: dict, limits: Limits, *, reason: str | None = None, killed: bool = False,
                    pids_hit: int = 0) -> str:
    """How a runner container ended, in words a student can act on."""
    if state.get("OOMKilled"):
        return f"killed: out of memory (memory_mb={limits.memory_mb})"
    if reason:
        return reason
    code = state.get("ExitCode", -1)
    pids = (f"; it had reached the process limit pids={limits.pids} ({pids_hit} failed forks)"
            if pids_hit else "")
    if code == 124:
        return "the runner outlived its container's lifetime limit" + pids
    if code > 128 and code - 128 in signal.Signals._value2member_map_:
        sig = signal.Signals(code - 128)
        if sig == signal.SIGXCPU:
            return f"the runner used more CPU time than total_seconds={limits.total_seconds:g} allows" + pids
        if sig == signal.SIGXFSZ:
            return f"the runner wrote a file larger than disk_mb={limits.disk_mb}" + pids
        if sig == signal.SIGKILL and killed:
            return "the runner was stopped by the grader" + pids
        return f"the runner was killed by {sig.name}" + pids
    if pids_hit:
        return f"the runner exited with code {code} after reaching the process limit pids={limits.pids}"
    return f"the runner exited with code {code}"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _cgroup_dirs(pid: int) -> list[Path]:
    """The container's pids cgroup folders on the host (v1 or v2), found from its first process."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines() if pid else []
    except OSError:
        return []
    found = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            found.append(Path("/sys/fs/cgroup") / path.lstrip("/"))
        elif "pids" in controllers.split(","):
            found.append(Path("/sys/fs/cgroup") / controllers / path.lstrip("/"))
    return found


def _pids_max_events(folders: list[Path]) -> int:
    """How often a fork failed at the pids limit (0 where the kernel does not say)."""
    for folder in folders:
        with contextlib.suppress(OSError, ValueError):
            for line in (folder / "pids.events").read_text().splitlines():
                key, value = line.split()
                if key == "max":
                    return int(value)
    return 0


# ---------------------------------------------------------------------------------------------------


class GpuLease:
    """One GPU for one job at a time, across every grader process on this machine (a file lock each)."""

    def __init__(self, wait_seconds: float = 600, devices: list[str] | None = None) -> None:
        devices = _gpu_ids() if devices is None else devices
        if not devices:
            raise InfrastructureError("the assignment asks for a GPU and this machine has none "
                                      "(nvidia-smi finds no GPU); grade it where one exists")
        deadline = time.monotonic() + wait_seconds
        while True:
            for device in devices:
                handle = open(GPU_LOCKS / f"dl-grader-gpu-{device}.lock", "a")
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    handle.close()
                    continue
                self.device, self._handle = device, handle
                return
            if time.monotonic() > deadline:
                raise InfrastructureError(f"no GPU became free within {wait_seconds:g} s "
                                          f"(devices {', '.join(devices)} all busy)")
            time.sleep(0.5)

    def release(self) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()


def gpu_lease_for(wanted: bool | str) -> GpuLease | None:
    """The GPU a job holds: always one for `True` (or an error), one if any exists for "optional"."""
    devices = _gpu_ids() if wanted else []
    if wanted is True or (wanted == "optional" and devices):
        return GpuLease(devices=devices)
    return None


def _gpu_ids() -> list[str]:
    """DL_GRADER_GPUS ("0,1") limits the devices the grader may hand out; else every GPU found."""
    chosen = os.environ.get("DL_GRADER_GPUS")
    if chosen is not None:
        return [d.strip() for d in chosen.split(",") if d.strip()]
    return [g["index"] for g in gpus()]


GPU_PROBE = ("nvidia-smi --id=\"$1\" --query-gpu=name,memory.total,driver_version --format=csv,noheader; "
             "[ \"$2\" = torch ] && python3 -I -c 'import torch; print(torch.cuda.is_available())' || true")


def measure_gpu(client, image: str, device: str, *, torch: bool) -> dict:
    """nvidia-smi (and torch, for torch images) in a throw-away container holding `device` only; inside,
    that GPU is the only one, so nvidia-smi asks for index 0."""
    facts: dict = {"device": device, "measured_in": image}
    try:
        out = client.containers.run(
            image, ["sh", "-c", GPU_PROBE, "probe", "0", "torch" if torch else "-"], entrypoint=[],
            user=f"{NOBODY}:{NOBODY}", network_mode="none", cap_drop=["ALL"], read_only=True, remove=True,
            environment={"NVIDIA_DRIVER_CAPABILITIES": "compute,utility"}, labels={LABEL: "1"},
            device_requests=_gpu_request(device), stdout=True, stderr=True).decode("utf-8", "replace")
    except ENGINE_ERRORS as exc:
        facts["error"] = f"the GPU probe container failed: {str(exc)[:300]}"
        return facts
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    parts = [part.strip() for part in lines[0].split(",")] if lines else []
    if len(parts) == 3:
        facts.update(name=parts[0], memory=parts[1], driver=parts[2])
    else:
        facts["error"] = f"nvidia-smi in the sandbox said: {out[:300]!r}"
    facts["torch_cuda"] = (lines[-1] == "True") if torch and len(lines) > 1 else None
    return facts


def _gpu_request(device: str) -> list:
    from docker.types import DeviceRequest

    return [DeviceRequest(device_ids=[device], capabilities=[["gpu"]])]


def remove_stale_containers(client) -> int:
    """Remove the containers of graders on this host that died without cleaning up, and shelved
    containers (grader.sandbox.shelf) that ended unclaimed; their count.

    Every listing of ours is sparse: the full one inspects each container after listing it, and one
    that another grader removed meanwhile made the whole listing raise NotFound."""
    import docker

    removed = 0
    try:
        stale = client.containers.list(all=True, sparse=True, filters={"label": f"{LABEL}=1"})
    except docker.errors.APIError:
        return 0
    for container in stale:
        labels = container.attrs.get("Labels") or {}
        owner = labels.get(f"{LABEL}.owner", "")
        if owner == f"{HOST}:shelf":  # waiting on the shelf, or the grader's that claimed it
            owner = claimant(labels) or owner
        host, _, pid = owner.rpartition(":")
        # Unclaimed and ended: its wait is over (the next restock's sweep removes its folder).
        ended_on_shelf = owner == f"{HOST}:shelf" and container.attrs.get("State") in ("exited", "dead")
        if not ended_on_shelf and (host != HOST or not pid.isdigit() or jobdirs.pid_exists(int(pid))):
            continue
        with contextlib.suppress(docker.errors.APIError):
            container.remove(force=True)
            removed += 1
    return removed


class DockerBackend:
    name = "docker"

    def __init__(self, config: RunnerConfig, limits: Limits, *,
                 warm: Callable[[], dict | None] | None = None) -> None:
        """`warm` gives, when the first runner starts, a container grader.sandbox.warm.WarmPool started
        ahead for this job (`container`, `slot`, `image`) or None; used when it runs this job's image,
        and never for a second runner."""
        self.config, self.limits = config, limits
        self._warm = warm
        self.warm_runners = 0
        self.client = connect()
        self._gpu = gpu_lease_for(config.gpu)
        self._gpu_facts: dict | None = None
        self.image = self._choose_image(config)
        # Asked now, while the judge's pytest collects, for the report's environment at the close
        # (a version call takes 6 ms, where a ping takes under 1 ms).
        self._engine: str | None = None
        with contextlib.suppress(Exception):
            self._engine = self.client.version().get("Version")
        remove_stale_containers(self.client)
        self.job = uuid.uuid4().hex[:12]
        self.output = OutputBuffer(limits.output_kb << 10)
        self._processes: list[DockerProcess] = []
        self._unsure = False  # a start failed: the engine may hold a container of this job we never saw
        self._slots: list[Path] = []
        self._tmp = jobdirs.make_job_dir("grader-docker-")  # owned: a killed judge's is swept
        self._tmp.chmod(0o755)
        self.runtime = write_runtime(self._tmp / "runtime")
        atexit.register(self.close)  # a judge that exits by an exception still removes its containers

    def _choose_image(self, config: RunnerConfig) -> str:
        """numpy steps run on dl-grader, torch steps on dl-grader-torch, or on dl-grader-cuda with a GPU;
        an optional GPU goes back when the CUDA image is missing (the step then runs on the CPU)."""
        variant = variant_for(config.needs, gpu=self._gpu is not None)
        if variant == "cuda" and config.gpu == "optional" and not image_present(self.client, image_tag("cuda")):
            self._gpu.release()
            self._gpu, variant = None, "torch"
        try:
            return ensure_image(self.client, variant=variant)
        except InfrastructureError:
            if self._gpu:
                self._gpu.release()
            raise

    def gpu_facts(self) -> dict | None:
        """The GPU this job holds as the sandbox sees it (None without one), measured once by a probe
        container of the same image and device, never by student code: name, memory, driver, and
        whether the image's torch can use it (`torch_cuda`)."""
        if self._gpu is None:
            return None
        if self._gpu_facts is None:
            self._gpu_facts = measure_gpu(self.client, self.image, self._gpu.device,
                                          torch="torch" in self.config.needs)
        return self._gpu_facts

    def start(self) -> DockerProcess:
        process = self._start_warm()
        if process is None:
            listener = _listener(self._tmp / f"channel-{len(self._processes)}")
            options = container_options(self.config, self.limits, image=self.image, runtime=self.runtime,
                                        job=self.job, gpu=self._gpu.device if self._gpu else None,
                                        channel=listener.path.parent if listener else None)
            try:
                process = DockerProcess(self.client, options, self.limits, self.output)
            except BaseException:
                self._unsure = True
                if listener:
                    listener.close()
                raise
            self._processes.append(process)
            if listener:
                process.use_socket(listener)
            return process
        self._processes.append(process)
        return process

    def _start_warm(self) -> DockerProcess | None:
        """The warm container's runner, given this submission and its config; None (a cold start
        follows) without one, for a GPU job, or when the engine lost it."""
        warm, self._warm = (self._warm() if self._warm else None), None
        if not warm or warm["image"] != self.image or self._gpu is not None:
            self._discard(warm)
            return None
        slot, listener = Path(warm["slot"]), None
        try:
            # symlinks=True: a link (ingest refuses them) would be copied as a link, never followed here.
            shutil.copytree(self.config.workspace, slot, dirs_exist_ok=True, symlinks=True)
            # The pool made the folder when it chose the socket; without a listener, the attach stream.
            listener = _listener(channel_folder(slot)) if channel_folder(slot).is_dir() else None
            process = DockerProcess(self.client, {}, self.limits, self.output, adopt=warm["container"])
        except (InfrastructureError, OSError):
            if listener:
                listener.close()
            self._discard(warm)
            return None
        config = self.config.as_json(workspace=JAIL_WORKSPACE, scratch="/tmp")
        if listener:
            config["channel"] = RUNNER_SOCKET
        try:
            process.channel.send(config, deadline=time.monotonic() + 30)
            if listener:
                process.use_socket(listener)
        except (wire.WireError, OSError, InfrastructureError):  # its runner died while it waited: a cold start follows
            process.close()
            self._discard(warm)
            return None
        self.warm_runners += 1
        self._slots.append(slot)
        return process

    def _discard(self, warm: dict | None) -> None:
        """A warm container this job will not use: removed here, as the pool no longer counts on it."""
        if not warm:
            return
        with contextlib.suppress(Exception):
            self.client.containers.get(warm["container"]).remove(force=True)
        remove_slot(warm["slot"])

    def environment(self) -> dict:
        facts = {"backend": "docker", "image": self.image, "isolation": "container: no network, "
                 f"uid {NOBODY}, no capabilities, read-only root", "gpu": self.gpu_facts(),
                 "warm_runners": self.warm_runners}
        with contextlib.suppress(Exception):  # both asked when the backend was made: no engine call
            facts["image_id"] = image_id(self.client, self.image)
            facts["engine"] = self._engine or self.client.version().get("Version")
        return facts

    def close(self) -> None:
        atexit.unregister(self.close)
        processes, self._processes = self._processes, []
        for process in processes:
            process.close()
        self._discard(self._warm() if self._warm else None)  # handed over, never started: still ours
        self._warm = None
        for slot in self._slots:
            remove_slot(slot)
        if self._unsure or not all(process.removed for process in processes):
            self._sweep()
        if self._gpu:
            self._gpu.release()
            self._gpu = None
        shutil.rmtree(self._tmp, ignore_errors=True)

    def _sweep(self) -> None:
        """Anything of this job the engine still knows about: a container whose removal failed, or one
        a failed start left half-made (its create timed out here but went through there)."""
        import docker

        with contextlib.suppress(docker.errors.APIError):
            for container in self.client.containers.list(all=True, sparse=True, filters={"label": f"{LABEL}.job={self.job}"}):
                with contextlib.suppress(docker.errors.APIError):
                    container.remove(force=True)
