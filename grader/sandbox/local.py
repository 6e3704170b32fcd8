"""The local backend: the runner as a subprocess with rlimits, jailed where the kernel allows it.

Isolated (the default for grading): fresh mount, network and PID namespaces (`unshare`), a throw-away
root that holds only read-only binds of the Python installation, the runtime and the workspace
(`jail.sh`), a size-capped /tmp, and, when the grader runs as root, uid 65534 with no capabilities.
The student's code then sees no course files, no network and no other process.

Not isolated (`grader check` on a student's own machine, where there is nothing to hide): the same
runner and rlimits without the jail. Grading never silently falls back to this: where isolation is
asked for and the kernel refuses it, starting fails with an InfrastructureError that says so.
"""

from __future__ import annotations

import functools
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from grader import wire
from grader.errors import InfrastructureError
from grader.sandbox import BOOTSTRAP, Limits, OutputBuffer, RunnerConfig, write_runtime
from grader.sandbox.interpreter import runner_interpreter

JAIL = Path(__file__).with_name("jail.sh")
NOBODY = 65534
# Where the runtime and the workspace appear inside the jail (the Docker backend uses the same).
JAIL_RUNTIME = "/opt/runtime"
JAIL_WORKSPACE = "/submission"
RUNNER_ENV = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
    # One BLAS thread: the limits mean the same on every machine and results do not depend on threading.
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


@functools.cache
def isolation_available() -> str | None:
    """None if jailed runners can start here, else the reason they cannot."""
    if not sys.platform.startswith("linux"):
        return f"the local jail needs Linux namespaces (this is {sys.platform})"
    if not shutil.which("unshare") or not shutil.which("setpriv"):
        return "the local jail needs util-linux's unshare and setpriv"
    probe = subprocess.run([*_unshare_prefix(), "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"the kernel refused new namespaces: {probe.stderr.strip() or probe.returncode}"
    return None


def _unshare_prefix() -> list[str]:
    user = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    return ["unshare", *user, "--mount", "--net", "--pid", "--ipc", "--uts", "--fork", "--kill-child"]


class LocalProcess:
    def __init__(self, argv: list[str], limits: Limits, output: OutputBuffer, *, drop_uid: bool) -> None:
        self.limits = limits
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=RUNNER_ENV, start_new_session=True, close_fds=True,
            preexec_fn=functools.partial(_apply_rlimits, limits, drop_uid),
        )
        os.set_blocking(self.proc.stdin.fileno(), False)
        self.channel = wire.Channel(self.proc.stdout.fileno(), self.proc.stdin.fileno(),
                                    max_frame_bytes=limits.frame_mb << 20)
        self.flooded = False
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

    def ending(self) -> str:
        code = self.proc.wait()
        self._drain.join(timeout=2)
        if self.flooded:
            return (f"output limit: the runner printed more than {self.limits.output_kill_mb} MB "
                    f"(output_kill_mb={self.limits.output_kill_mb})")
        return describe_exit(code, self.limits)

    def close(self) -> None:
        self.kill()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass


def describe_exit(code: int, limits: Limits) -> str:
    if code >= 0:
        return f"the runner exited with code {code}"
    sig = signal.Signals(-code)
    if sig == signal.SIGXCPU:
        return f"the runner used more CPU time than total_seconds={limits.total_seconds:g} allows"
    if sig == signal.SIGXFSZ:
        return f"the runner wrote a file larger than disk_mb={limits.disk_mb}"
    return f"the runner was killed by {sig.name}"


def _apply_rlimits(limits: Limits, drop_uid: bool) -> None:
    """Runs in the child between fork and exec: these limits then hold for everything it starts."""
    cpu = int(limits.total_seconds) + 5
    caps = {
        resource.RLIMIT_AS: limits.memory_mb << 20,
        resource.RLIMIT_CPU: cpu,
        resource.RLIMIT_FSIZE: limits.disk_mb << 20,
        resource.RLIMIT_NOFILE: limits.open_files,
        resource.RLIMIT_CORE: 0,
    }
    if drop_uid:
        # Counts processes of uid 65534 only, which is why it is set only when the runner becomes it.
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
        self._tmp = Path(tempfile.mkdtemp(prefix="grader-local-"))
        self._tmp.chmod(0o755)
        self.runtime = write_runtime(self._tmp / "runtime")
        self.output = OutputBuffer(limits.output_kb << 10)
        self._processes: list[LocalProcess] = []

    def start(self) -> LocalProcess:
        process = LocalProcess(self._argv(), self.limits, self.output,
                               drop_uid=self.isolate and os.geteuid() == 0)
        self._processes.append(process)
        return process

    def _argv(self) -> list[str]:
        workspace = str(self.config.workspace.resolve())
        if not self.isolate:
            scratch = self._tmp / f"scratch{len(self._processes)}"
            scratch.mkdir()
            config = self.config.as_json(workspace=workspace, scratch=str(scratch))
            return [self.python.executable, "-I", "-c", BOOTSTRAP, str(self.runtime), _json(config)]
        root = self._tmp / f"root{len(self._processes)}"
        root.mkdir()
        config = self.config.as_json(workspace=JAIL_WORKSPACE, scratch="/tmp")
        uid = str(NOBODY) if os.geteuid() == 0 else "-"
        jail = ["sh", str(JAIL), str(root), uid, str(self.limits.disk_mb), "--"]
        mapped = f"{self.runtime}={JAIL_RUNTIME}:{workspace}={JAIL_WORKSPACE}"
        return [*_unshare_prefix(), "env", f"JAIL_RO={':'.join(self._visible_paths())}",
                f"JAIL_MAP={mapped}", *jail,
                self.python.executable, "-I", "-c", BOOTSTRAP, JAIL_RUNTIME, _json(config)]

    def _visible_paths(self) -> list[str]:
        # The interpreter and its site-packages (numpy) may live outside /usr, e.g. in a virtualenv.
        paths = {sys.prefix, sys.base_prefix, *(p for p in sys.path if p.startswith(sys.base_prefix))}
        paths |= set(self.python.paths)  # the runner's interpreter, when it is not the grader's
        paths = {p for p in paths if p and not p.startswith("/usr/")}
        if self.config.gpu:
            paths |= {str(p) for p in Path("/dev").glob("nvidia*")}
        return sorted(paths)

    def environment(self) -> dict:
        return {"backend": "local", "isolation": "namespaces+chroot" if self.isolate else "rlimits only",
                "uid": NOBODY if self.isolate and os.geteuid() == 0 else os.geteuid()}

    def close(self) -> None:
        for process in self._processes:
            process.close()
        shutil.rmtree(self._tmp, ignore_errors=True)


def _json(config: dict) -> str:
    return json.dumps(config)
