"""The local backend: the runner as a subprocess in a bubblewrap jail, with a host identity of its own.

Isolated (the default for grading): bubblewrap (`grader.sandbox.bwrap`) gives the runner fresh mount,
pid, network, ipc and uts namespaces, a root holding only /usr, its Python and the packages it needs,
a size-capped /tmp, the workspace read-only, and a seccomp deny-list (`grader.sandbox.seccomp`: no
keyring, ptrace, bpf, mount, unshare, setns, perf_event_open...). When the grader runs as root each
runner also gets a uid of its own from a reserved range and a cgroup capping its pids and memory
(`grader.sandbox.slots`), so one runner's fork bomb or keyring never reaches another's. Every runner
gets a new session keyring, dies with the judge that started it (PR_SET_PDEATHSIG, through every
process of the chain: timeout, bubblewrap, the jail's init), and is killed after an absolute wall-clock
lifetime by `timeout`, a process outside the jail that does not need the judge to be alive.

Not isolated (`grader check` on a student's own machine, where there is nothing to hide): the same
runner and rlimits without the jail. Grading never silently falls back to this: where isolation is
asked for and the machine refuses it, starting fails with an InfrastructureError that says so.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from grader import jobdirs
from grader.runtime import wire
from grader.errors import InfrastructureError
from grader.sandbox import BOOTSTRAP, RUNNER_ENV, OutputBuffer, RunnerConfig, write_runtime
from grader.spec import Limits
from grader.sandbox import bwrap, seccomp, slots
from grader.sandbox.bwrap import JAIL_RUNTIME, JAIL_WORKSPACE, NOBODY  # noqa: F401 (docker.py uses them)
from grader.sandbox.interpreter import runner_interpreter

# The runner's absolute lifetime beyond its budgets, as the docker backend's container lifetime.
WALL_GRACE_SECONDS = 360
PR_SET_PDEATHSIG = 1
KEYCTL_JOIN_SESSION_KEYRING = 1
# What the runner's processes may use together in their cgroup, beyond memory_mb: the /tmp tmpfs.
CGROUP_MEMORY_SLACK_MB = 64


def wall_seconds(limits: Limits) -> int:
    return int(limits.total_seconds + limits.import_seconds + WALL_GRACE_SECONDS)


@functools.cache
def isolation_available() -> str | None:
    """None if jailed runners can start here, else the reason they cannot."""
    if not sys.platform.startswith("linux"):
        return f"the local jail needs Linux namespaces (this is {sys.platform})"
    missing = [tool for tool in ("bwrap", "timeout", "setpriv") if not shutil.which(tool)]
    if missing:
        return (f"the local jail needs {', '.join(missing)} (Debian: apt-get install bubblewrap "
                "coreutils util-linux)")
    try:
        seccomp.deny_program()
    except seccomp.UnsupportedArchitecture as exc:
        return str(exc)
    return probe_once_per_boot()


def probe_once_per_boot() -> str | None:
    """`_probe_jail`'s verdict, the probe skipped where this boot's kernel and bubblewrap already
    passed it (a root grader's note in its slot folder): it costs every grading about 60 ms on 2 busy
    cores. A failure is never noted, and a jail refused later still fails its runner's start, an
    infra_error; the probe only says why sooner."""
    note, stamp = slots.LOCK_DIR / "jail-ok", _jail_stamp()
    if os.geteuid() == 0 and stamp:
        with contextlib.suppress(OSError):
            if note.read_text() == stamp:
                return None
    reason = _probe_jail()
    if reason is None and os.geteuid() == 0 and stamp:
        with contextlib.suppress(OSError):
            slots.LOCK_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
            part = note.with_name(f".jail-ok.{os.getpid()}")
            part.write_text(stamp)
            os.replace(part, note)
    return reason


def _jail_stamp() -> str | None:
    """What the probe's verdict depends on: this boot, the kernel, and the bubblewrap binary."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        bwrap_file = os.stat(shutil.which("bwrap") or "")
    except OSError:
        return None
    return f"{boot} {os.uname().release} {bwrap_file.st_ino} {bwrap_file.st_size} {bwrap_file.st_mtime_ns}"


def _probe_jail() -> str | None:
    """Start one empty jail exactly as a runner's, to learn early whether the kernel allows it."""
    launch = Launch(as_root=os.geteuid() == 0, limits=Limits(total_seconds=5))
    try:
        argv = launch.argv(["/usr/bin/true"], python=("/usr/bin/true", []), workspace=None, needs=(),
                           gpu=False)
        probe = subprocess.run(argv, capture_output=True, text=True, timeout=30, pass_fds=launch.fds,
                               preexec_fn=launch.prepare_child)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"the local jail could not start: {exc}"
    finally:
        launch.release()
    if probe.returncode != 0:
        return f"bubblewrap refused to build the jail: {probe.stderr.strip() or probe.returncode}"
    return None


class Launch:
    """What one runner start holds on the host: its slot uid and cgroup (as root) and its seccomp fd."""

    def __init__(self, *, as_root: bool, limits: Limits, jailed: bool = True) -> None:
        self.limits, self.as_root, self.jailed = limits, as_root, jailed
        self.slot = slots.acquire_slot() if as_root and jailed else None
        memory = (limits.memory_mb + limits.disk_mb + CGROUP_MEMORY_SLACK_MB) << 20
        self.cgroup = (slots.make_cgroup(self.slot.uid, pids=limits.pids, memory_bytes=memory)
                       if self.slot else None)
        self.fds: list[int] = []
        self.parent = os.getpid()
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._keyctl = seccomp.syscall_number("keyctl") if jailed else None

    def argv(self, command: list[str], *, python: tuple[str, list[str]], workspace: str | None,
             needs: tuple[str, ...], gpu: bool) -> list[str]:
        fd = os.memfd_create("grader-seccomp")
        os.write(fd, seccomp.deny_program())
        os.lseek(fd, 0, os.SEEK_SET)
        self.fds.append(fd)
        args = [shutil.which("timeout"), "-s", "KILL", str(wall_seconds(self.limits)), shutil.which("bwrap"),
                *bwrap.namespaces(self.as_root), "--die-with-parent", "--new-session"]
        if self.as_root:
            args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
        args += bwrap.base_mounts(self.limits.disk_mb) + python[1]
        args += bwrap.runtime_mounts(needs, own_interpreter=python[0] == os.path.realpath(sys.executable))
        if workspace:
            args += ["--ro-bind", workspace, JAIL_WORKSPACE]
        if gpu:
            for device in sorted(Path("/dev").glob("nvidia*")):
                args += ["--dev-bind", str(device), str(device)]
        args += ["--chdir", "/tmp", "--seccomp", str(fd)]
        return args + (bwrap.drop_to(self.slot.uid) if self.slot else []) + command

    def prepare_child(self) -> None:
        """Runs in the child between fork and exec (as the grader's user): cgroup, rlimits, keyring,
        death with the parent. Everything set here holds for the whole chain it execs."""
        if self.cgroup:
            for procs in self.cgroup.procs_files:
                with open(procs, "w") as handle:
                    handle.write(str(os.getpid()))
        _apply_rlimits(self.limits, nproc=self.slot is not None)
        if self._keyctl is not None:  # a new anonymous session keyring: nothing of the grader's
            self._libc.syscall(self._keyctl, KEYCTL_JOIN_SESSION_KEYRING, None)
        self._libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != self.parent:  # the judge died before the line above: do not start at all
            os._exit(70)

    def started(self) -> None:
        """The child has the fds now: the grader's copies can go."""
        for fd in self.fds:
            os.close(fd)
        self.fds.clear()

    def release(self) -> None:
        """After the runner ended: nothing of its uid or cgroup runs on, and the slot is free again."""
        self.started()
        if self.cgroup:
            self.cgroup.remove()
        if self.slot:
            self.slot.release()


class LocalProcess:
    def __init__(self, argv: list[str], limits: Limits, output: OutputBuffer, launch: Launch) -> None:
        self.limits, self.launch = limits, launch
        self.began = time.monotonic()
        try:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=RUNNER_ENV, start_new_session=True, close_fds=True, pass_fds=launch.fds,
                preexec_fn=launch.prepare_child,
            )
        except BaseException:
            launch.release()
            raise
        launch.started()
        os.set_blocking(self.proc.stdin.fileno(), False)
        self.channel = wire.Channel(self.proc.stdout.fileno(), self.proc.stdin.fileno(),
                                    max_frame_bytes=limits.frame_mb << 20)
        self.flooded = False
        self._released = False
        self._drain = output.drain(self.proc.stderr, limit=limits.output_kill_mb << 20, on_flood=self._flood)

    def _flood(self) -> None:
        self.flooded = True
        self.kill()

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()

    def ended(self, within: float) -> bool:
        try:
            self.proc.wait(timeout=within)
        except subprocess.TimeoutExpired:
            return False
        return True

    def ending(self) -> str:
        code = self.proc.wait()
        self._drain.join(timeout=2)
        if self.flooded:
            return (f"output limit: the runner printed more than {self.limits.output_kill_mb} MB "
                    f"(output_kill_mb={self.limits.output_kill_mb})")
        if self.launch.cgroup and self.launch.cgroup.memory_exceeded():
            return (f"the runner's processes together used more memory than memory_mb="
                    f"{self.limits.memory_mb} allows")
        if self.launch.jailed and time.monotonic() - self.began >= wall_seconds(self.limits):
            return f"the runner reached its lifetime limit of {wall_seconds(self.limits)} s"
        return describe_exit(code, self.limits, jailed=self.launch.jailed)

    def close(self) -> None:
        self.kill()
        self._drain.join(timeout=2)  # what it printed last is in the output, ending() asked or not
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass
        if not self._released:
            self._released = True
            self.launch.release()


def describe_exit(code: int, limits: Limits, *, jailed: bool = False) -> str:
    if jailed and 128 < code < 128 + signal.NSIG:  # bubblewrap and timeout pass a signal on as 128+n
        code = 128 - code
    if code >= 0:
        return f"the runner exited with code {code}"
    sig = signal.Signals(-code)
    if sig == signal.SIGXCPU:
        return f"the runner used more CPU time than total_seconds={limits.total_seconds:g} allows"
    if sig == signal.SIGXFSZ:
        return f"the runner wrote a file larger than disk_mb={limits.disk_mb}"
    return f"the runner was killed by {sig.name}"


def _apply_rlimits(limits: Limits, *, nproc: bool) -> None:
    """Between fork and exec: these limits then hold for everything the child starts."""
    cpu = int(limits.total_seconds) + 5
    caps = {
        resource.RLIMIT_AS: limits.memory_mb << 20,
        resource.RLIMIT_CPU: cpu,
        resource.RLIMIT_FSIZE: limits.disk_mb << 20,
        resource.RLIMIT_NOFILE: limits.open_files,
        resource.RLIMIT_CORE: 0,
    }
    if nproc:
        # Counts the processes of the runner's own slot uid only (root, before the drop, is exempt).
        caps[resource.RLIMIT_NPROC] = limits.pids
    for which, value in caps.items():
        resource.setrlimit(which, (value, value + (5 if which == resource.RLIMIT_CPU else 0)))


class LocalBackend:
    name = "local"

    def __init__(self, config: RunnerConfig, limits: Limits, *, isolate: bool = True) -> None:
        if isolate and (reason := isolation_available()):
            raise InfrastructureError(f"local sandbox: {reason}; grade with --sandbox docker instead")
        self.config, self.limits, self.isolate = config, limits, isolate
        self.python = runner_interpreter(config.needs)  # one with torch where the step needs it
        self._tmp: Path | None = None
        if not isolate:  # the jailed runner needs no folder of ours: everything is bound in place
            self._tmp = jobdirs.make_job_dir("grader-local-")  # owned: a killed judge's is swept
            self.runtime = write_runtime(self._tmp / "runtime")
        self.output = OutputBuffer(limits.output_kb << 10)
        self._processes: list[LocalProcess] = []

    def start(self) -> LocalProcess:
        """A new runner. Call it from a thread that lives as long as the runner should: the kernel's
        parent-death signal fires when the *thread* that started the runner ends, not the process."""
        launch = Launch(as_root=os.geteuid() == 0, limits=self.limits, jailed=self.isolate)
        try:
            argv = self._argv(launch)
        except BaseException:
            launch.release()
            raise
        process = LocalProcess(argv, self.limits, self.output, launch)
        self._processes.append(process)
        return process

    def _argv(self, launch: Launch) -> list[str]:
        workspace = str(self.config.workspace.resolve())
        if not self.isolate:
            scratch = self._tmp / f"scratch{len(self._processes)}"
            scratch.mkdir()
            config = self.config.as_json(workspace=workspace, scratch=str(scratch))
            return [self.python.executable, "-I", "-c", BOOTSTRAP, str(self.runtime), _json(config)]
        config = self.config.as_json(workspace=JAIL_WORKSPACE, scratch="/tmp")
        executable, binds = bwrap.python_mounts(self.python.executable, self.python.paths)
        command = [executable, "-I", "-c", BOOTSTRAP, JAIL_RUNTIME, _json(config)]
        return launch.argv(command, python=(executable, binds), workspace=workspace,
                           needs=tuple(self.config.needs), gpu=bool(self.config.gpu))

    def environment(self) -> dict:
        if not self.isolate:
            return {"backend": "local", "isolation": "rlimits only", "uid": os.geteuid()}
        root = os.geteuid() == 0
        return {"backend": "local", "isolation": "bubblewrap+seccomp",
                "uid": f"one per runner from {slots.UID_BASE}" if root else f"{NOBODY} in a user namespace"}

    def close(self) -> None:
        for process in self._processes:
            process.close()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)


def _json(config: dict) -> str:
    return json.dumps(config)
