"""The submission as a test sees it: `submission.affine_forward(x, w, b)` sends a call to the runner.

`RunnerSession` owns one submission's runner: it starts it while pytest collects (`prestart`) or on
first use, restarts it after a death, keeps the per-call and per-submission time budgets, and turns
every way a call can go wrong into a `Verdict`, including an API function that changed its arguments
in place (which the runner reports) unless the assignment's `[api] mutates` allows it.
`SubmissionProxy` and `Handle` are the thin objects tests touch. A handle (a student object
that is not plain data) can be called and its attributes read, but it cannot be compared, hashed,
iterated or used as a truth value: an object that claims to equal anything never reaches a check.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import deque
from typing import Any, Callable, Iterable, Iterator

from grader.runtime import wire
from grader.errors import InfrastructureError
from grader.judge.verdicts import (BadValue, CallTimeout, MutatedArgument, NotRun, RunnerDied, StudentError,
                                   Verdict)
from grader.sandbox import Backend, RunnerProcess
from grader.spec import RESERVED_NAME, Limits

MAX_RESTARTS = 25
# A handle's function or method name that feedback may print (`Net.loss()`): the runner is untrusted.
_QUALNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*|\.<locals>){0,5}")
# From process start to the runner's first frame, before any student code: Python and numpy loading.
STARTUP_SECONDS = 60
# How long a runner whose channel closed may take to finish ending by itself before it is killed: an
# exit is milliseconds; a submission that closed the channel and lives on costs this much once.
ENDING_GRACE_SECONDS = 2.0
# Unanswered calls' frames a gradient check may have in flight: far under a pipe's (1 MB here) or a
# unix socket's (about 200 KB) buffer, so writing them never waits on the runner.
PIPELINE_BYTES = 64 << 10
# What of the runner's "mutated" list is believed: a few short names (the runner is untrusted).
MAX_MUTATED, MAX_LABEL = 8, 80


class RunnerSession:
    """One submission's runner, from the judge's side."""

    def __init__(self, backend: Backend | None, limits: Limits, api: dict[str, list[str]], *,
                 seed: int, invalid: str | None = None, mutates: tuple[str, ...] = ()) -> None:
        self.backend, self.limits, self.seed = backend, limits, seed
        self.names = {name for names in api.values() for name in names}
        self.mutates = set(mutates)  # API functions allowed to change their arguments in place
        self.mutated: list[str] = []  # what the last call changed in place, as the runner reported it
        self.process: RunnerProcess | None = None
        self.info: dict = {}
        self.missing: set[str] = set()
        # Set once for good: an import that failed or hung fails the same way every time.
        self.fatal: str | None = invalid
        self.restarts = 0
        self.spent = 0.0  # seconds spent waiting on the runner, against limits.total_seconds
        self.verdict: Verdict | None = None  # the running test's, kept even if the test swallows it
        self.call_seconds = limits.call_seconds
        self.timings: dict[str, float] = {}
        # Why the whole submission is skipped (the sandbox lacks a module the assignment needs).
        self.skipped: str | None = None
        self._early: threading.Thread | None = None  # the first runner, starting while pytest collects
        self._early_error: BaseException | None = None
        self._early_pending = False  # until the first test meets the prestarted runner
        self._early_done = threading.Event()
        self._release = threading.Event()

    def prestart(self, build: Callable[[], Backend] | None = None) -> None:
        """Start the first runner now, in a thread, so that its start (a process or a container, Python,
        numpy, the submission's import) overlaps the judge's own (pytest, the tests, the reference).
        `build`, if given, makes the backend there first (the docker SDK, the engine, the jail's probe).
        The first test then finds the runner running, or waits for it and meets its failure as before."""
        if self.fatal or self.process is not None or (self.backend is None and build is None):
            return
        self._early_pending = True
        self._early = threading.Thread(target=self._start_early, args=(build,), name="runner-start",
                                       daemon=True)
        self._early.start()

    def _start_early(self, build: Callable[[], Backend] | None) -> None:
        try:
            if build is not None:
                self.backend = _built(build)
            if not self.fatal:
                self.restarts += 1
                self._start()
        except BaseException as exc:  # noqa: BLE001  (met by the first test, in the main thread)
            self._early_error = exc
        self._early_done.set()
        # The runner dies with the thread that started it (PR_SET_PDEATHSIG follows the thread, not the
        # process): this one waits until the session closes.
        self._release.wait()

    def _join_early(self) -> None:
        """Wait for a prestarted runner; its failure is raised here, as a cold start would raise it."""
        if not self._early_pending:
            return
        self._early_pending = False
        self._early_done.wait()
        error, self._early_error = self._early_error, None
        if isinstance(error, Verdict):
            self.verdict = error
        if error is not None:
            raise error

    @property
    def unmet_fault(self) -> str | None:
        """The sandbox's fault in a prestart that no test met (no test asked for the submission)."""
        error = self._early_error if self._early_pending and self._early_done.is_set() else None
        return str(error) if isinstance(error, InfrastructureError) else None

    # -- per test ----------------------------------------------------------------------------------
    def begin_test(self, nodeid: str, call_seconds: float | None) -> None:
        self.verdict = None
        self.call_seconds = call_seconds or self.limits.call_seconds
        self._ensure_running()
        self._request({"op": "seed", "seed": derive_seed(self.seed, nodeid)}, [], "setting the seed")

    # -- calls -------------------------------------------------------------------------------------
    def call(self, label: str, request: dict, args: tuple, kwargs: dict) -> Any:
        self._ready()
        return self._exchange(iter([_frame(request, args, kwargs)]), label)[0]

    def require_api(self, name: str) -> None:
        """An AttributeError, meant for the test's author, where the assignment's [api] lacks `name`."""
        if name not in self.names:
            raise AttributeError(f"{name!r} is not in the assignment's [api]; add it to assignment.toml")

    def call_function(self, name: str, args: tuple, kwargs: dict) -> Any:
        return self.call_function_many(name, [(args, kwargs)])[0]

    def call_function_many(self, name: str, calls: Iterable[tuple[tuple, dict]],
                           then: Callable[[Any], Any] | None = None) -> list[Any]:
        """`name(*args, **kwargs)` for each pair in `calls`, in order, with each call's own time limit
        and checks, as as many `call_function`s would make them; `then` turns each value into what is
        kept (a check that raises stops there). Several calls travel ahead of their replies (see
        `_exchange`), so the runner answers them back to back."""
        self.require_api(name)
        self._ready()
        if name in self.missing:
            self._fail(NotRun(f"the submission does not define {name}()"))
        request = {"op": "call", "name": name}
        frames = (_frame(request, args, kwargs) for args, kwargs in calls)
        return self._exchange(frames, f"{name}()", mutation=name, then=then)

    def call_described_many(self, calls: list[Lazy], then: Callable[[Any], Any] | None = None) -> list[Any]:
        """Make each described call (`submission.lazy`, see Lazy) in the runner, in order, each with its
        own time limit, sent ahead of their replies as `call_function_many` sends its calls; `then` as
        there. A change in place is checked as for `call_function` where the outermost call is an API
        function's."""
        if not calls:
            return []
        self._ready()
        if missing := sorted(set().union(*(c._names for c in calls)) & set(self.missing)):
            self._fail(NotRun(f"the submission does not define {', '.join(n + '()' for n in missing)}"))
        first = calls[0]
        frames = (_described_frame(c) for c in calls)
        return self._exchange(frames, first._label, mutation=first._target.get("name"), then=then)

    def _ready(self) -> None:
        if self.verdict is not None:
            raise self.verdict
        self._ensure_running()

    def _exchange(self, frames: Iterator[list], label: str, *, mutation: str | None = None,
                  then: Callable[[Any], Any] | None = None) -> list[Any]:
        """Send each frame and read its reply, in order. Frames after the first go out before the
        replies to earlier ones while what is unanswered stays under PIPELINE_BYTES: a pipe or socket
        buffer holds that much, so the judge never waits to write while the runner waits to write a
        reply nobody reads. Each reply has its own `call_seconds` from the previous one's arrival
        (when the runner started on it). When one reply fails the test, the runner's answers to the
        calls already sent are read and dropped (or the runner is stopped), so the next test's call
        gets its own reply."""
        pending: deque[int] = deque()  # the sizes of the frames sent and not answered yet
        unanswered = 0  # their sum
        values: list[Any] = []
        upcoming = next(frames, None)
        try:
            while upcoming is not None or pending:
                self.mutated = []
                seconds = self._seconds_left(self.call_seconds)
                started = time.monotonic()
                try:
                    while upcoming is not None:
                        size = _size(upcoming)
                        if pending and unanswered + size > PIPELINE_BYTES:
                            break
                        self._io(label, seconds, lambda: self.process.channel.send_frame(
                            upcoming, deadline=started + seconds))
                        pending.append(size)
                        unanswered += size
                        upcoming = next(frames, None)
                    reply, out = self._io(label, seconds, lambda: self.process.channel.receive(
                        deadline=started + seconds))
                    unanswered -= pending.popleft()
                finally:
                    self.spent += time.monotonic() - started
                values.append(self._value(reply, out, label, mutation, then))
        except BaseException as exc:
            if pending and self.process is not None and not isinstance(exc, KeyboardInterrupt):
                self._drop_replies(len(pending))
            raise
        return values

    def _io(self, label: str, seconds: float, action: Callable[[], Any]) -> Any:
        """`action`'s result; a runner that hung, died or broke the protocol is stopped, and the
        test's verdict says which."""
        try:
            return action()
        except wire.ChannelTimeout:
            ending = self._stop()
            why = f"; {ending}" if "limit" in ending else ""  # e.g. a fork bomb stuck at the pids limit
            self._fail(CallTimeout(f"{label} did not return within {seconds:g} s "
                                   f"(call_seconds={self.call_seconds:g}){why}"))
        except wire.ChannelClosed:
            ending = self._stop(ended=True)
            self._fail(RunnerDied(f"the submission's process ended during {label}: {ending}"))
        except wire.WireError as exc:
            self._stop()
            self._fail(BadValue(f"{label} returned something that cannot be graded: {exc}"))

    def _value(self, reply: dict, out: list[Any], label: str, mutation: str | None,
               then: Callable[[Any], Any] | None) -> Any:
        if not reply.get("ok"):
            # Not sticky: a test may expect the student's code to raise (checks.assert_raises).
            raise StudentError(label, reply.get("error") or {})
        self.mutated = _mutated(reply.get("mutated"))
        try:
            value = wire.decode(reply.get("value"), out, on_handle=lambda tag: Handle(self, tag))
        except wire.WireError as exc:
            self._fail(BadValue(f"{label} returned something that cannot be graded: {exc}"))
        if self.mutated and mutation is not None and mutation not in self.mutates:
            self._fail(MutatedArgument(label, self.mutated))
        return value if then is None else then(value)

    def _drop_replies(self, count: int) -> None:
        """Read and drop the replies to `count` calls sent ahead, each within its call time; a runner
        that does not give them is stopped (the next call starts a new one). The test's verdict is
        the failure that came first, whatever happens here."""
        for _ in range(count):
            seconds = min(self.call_seconds, self.limits.total_seconds - self.spent)
            if self.process is None or seconds <= 0:
                self._stop()
                return
            started = time.monotonic()
            try:
                self.process.channel.receive(deadline=started + seconds)
            except wire.WireError:
                self._stop()
            finally:
                self.spent += time.monotonic() - started

    def _request(self, message: dict, blobs: list[bytes], label: str) -> Any:
        return self._exchange(iter([wire.pack(message, blobs)]), label)[0]

    def _fail(self, verdict: Verdict) -> None:
        self.verdict = verdict
        raise verdict

    def _seconds_left(self, want: float) -> float:
        left = self.limits.total_seconds - self.spent
        if left <= 0:
            self._fail(NotRun(f"the submission used up its time budget (total_seconds="
                              f"{self.limits.total_seconds:g}); this test was not run"))
        return min(want, left)

    # -- process lifecycle -------------------------------------------------------------------------
    def _ensure_running(self) -> bool:
        self._join_early()
        if self.fatal:
            self._fail(NotRun(self.fatal))
        if self.process is not None:
            return True
        if self.restarts >= MAX_RESTARTS:
            self.fatal = f"the submission's process died {MAX_RESTARTS} times; the remaining tests were not run"
            self._fail(NotRun(self.fatal))
        self.restarts += 1
        self._start()
        return True

    def _start(self) -> None:
        """A new runner with the submission imported, or a `fatal` reason and NotRun for the test."""
        if self.backend is None:  # its making failed, and that was reported as an infra_error
            raise InfrastructureError("the sandbox could not be prepared, so no runner can start")
        seconds = self._seconds_left(self.limits.import_seconds)
        started_frame = self._start_runner()
        absent = started_frame.get("missing_needs") or []
        if absent:  # known before any student code ran, so a submission cannot fake it
            self._stop()
            self.skipped = self.fatal = (f"skipped: {', '.join(map(str, absent))} is not installed in the "
                                         "sandbox; this step is graded where the image has it")
            self._fail(NotRun(self.fatal))
        hello = self._await_import(seconds)
        if self.fatal:
            self._fail(NotRun(self.fatal))
        if not hello.get("ok"):
            error = StudentError("importing the submission", hello.get("error") or {})
            self._stop()
            self.fatal = f"the submission could not be imported: {error.message}"
            self._fail(NotRun(self.fatal))
        info = wire.decode(hello.get("value"), [])
        self.info = {k: info.get(k) for k in ("python", "numpy")}
        self.missing = {entry.split(": ", 1)[-1] for entry in info.get("missing", [])}

    def _start_runner(self) -> dict:
        """The runner's `started` frame; a failure before any student code ran is the sandbox's."""
        try:
            self.process = self.backend.start()
            started_frame, _ = self.process.channel.receive(deadline=time.monotonic() + STARTUP_SECONDS)
        except InfrastructureError:
            raise
        except Exception as exc:  # no student code has run yet: whatever failed is the sandbox's
            ending = self._stop(ended=isinstance(exc, wire.ChannelClosed))
            output, _ = self.backend.output.text()
            raise InfrastructureError(f"the sandbox could not start a runner ({exc}; {ending}): "
                                      f"{output.strip()[-1000:]}") from exc
        return started_frame

    def _await_import(self, seconds: float) -> dict:
        """The runner's answer to importing the submission; on a timeout or a death, `fatal` says why."""
        started, hello = time.monotonic(), {}
        try:
            hello, _ = self.process.channel.receive(deadline=started + seconds)
        except wire.ChannelTimeout:
            self._stop()
            self.fatal = (f"importing the submission took longer than {seconds:g} s "
                          f"(import_seconds={self.limits.import_seconds:g}); no test could run")
        except wire.ChannelClosed:
            ending = self._stop(ended=True)
            self.fatal = f"the submission's process ended while importing: {ending}"
        except wire.WireError as exc:  # e.g. a forged greeting: nothing of it is used
            self._stop()
            self.fatal = (f"the submission wrote a malformed frame while importing ({exc}); "
                          "no test could run")
        finally:
            self.spent += time.monotonic() - started
            self.timings.setdefault("first_import_seconds", time.monotonic() - started)
        return hello

    def _stop(self, *, describe: bool = True, ended: bool = False) -> str:
        """Kill and close the runner; how it ended, in words, unless `describe` is off (after the last
        test nobody reads them, and asking a container costs two engine calls). `ended`: its channel
        closed, so it is most likely ending by itself: it gets ENDING_GRACE_SECONDS to, so that a kill
        racing its exit never turns "exited with code 3" into "stopped by the grader"."""
        process, self.process = self.process, None
        if process is None:
            return "not running"
        if ended:
            process.ended(within=ENDING_GRACE_SECONDS)
        process.kill()
        ending = process.ending() if describe else "stopped after the last test"
        process.close()
        return ending

    def close(self, *, patience: float | None = None) -> None:
        """Stop the runner and let its starting thread end. `patience`: how long to wait for a prestart
        still under way (None: until it ends); past it, the thread is left to end with this process. A
        Ctrl-C that cut one of the main thread's imports in half can leave a module lock taken for
        good, and the thread, importing the docker SDK, then waits forever."""
        early, self._early = self._early, None
        if early is not None and not self._early_done.wait(timeout=patience):
            return
        self._stop(describe=False)
        self._release.set()  # the runner is gone: its starting thread may end
        if early is not None:
            early.join()


def _built(build: Callable[[], Backend]) -> Backend:
    """The backend `build` makes; anything it raises is the sandbox's fault, an infra_error."""
    try:
        return build()
    except InfrastructureError:
        raise
    except Exception as exc:
        raise InfrastructureError(f"the sandbox could not be prepared: {type(exc).__name__}: {exc}") from exc


def derive_seed(base: int, nodeid: str) -> int:
    """A seed per test, fixed by the assignment's seed and the test's id: order and restarts don't matter."""
    digest = hashlib.sha256(f"{base}:{nodeid}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def _mutated(value: Any) -> list[str]:
    """The argument names a reply says were changed in place, as short plain strings."""
    if not isinstance(value, list):
        return []
    names = [v[:MAX_LABEL] for v in value if isinstance(v, str) and v.isprintable()][:MAX_MUTATED]
    return names or (["an argument"] if value else [])


def handle_tag(value: Any) -> dict:
    """How a value crosses to the runner when it is not plain data: only handles (to objects that
    live there) may; anything of the judge's own is a WireError."""
    if isinstance(value, Handle):
        return {"$h": value._tag["$h"]}
    raise wire.WireError(f"a test cannot send a {type(value).__name__} to the submission")


def _frame(request: dict, args: tuple, kwargs: dict) -> list[Any]:
    """A call's frame: `request` with the arguments encoded (handles as their tags)."""
    tree_args, blobs = wire.encode(list(args), on_object=handle_tag)
    tree_kwargs, blobs = wire.encode(kwargs, on_object=handle_tag, blobs=blobs)
    return wire.pack({**request, "args": tree_args, "kwargs": tree_kwargs}, blobs)


def _described_frame(call: Lazy) -> list[Any]:
    """A described call's frame: its node (receiver and arguments encoded with it) as the request."""
    tree, blobs = wire.encode(call, on_object=handle_tag)
    return wire.pack({"op": "call", **tree["$c"]}, blobs)


def _size(frame: list[Any]) -> int:
    return sum(memoryview(part).nbytes for part in frame)


class SubmissionProxy:
    """`submission.name(...)` calls the student's function of that name in the runner;
    `submission.lazy.name(...)` only describes that call (see Lazy)."""

    def __init__(self, session: RunnerSession) -> None:
        object.__setattr__(self, "_session", session)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name == RESERVED_NAME:
            return LazyProxy(self._session)
        return ProxyFunction(self._session, name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("the submission proxy is read-only")

    def __repr__(self) -> str:
        return "<submission (runs in the sandbox)>"


class ProxyFunction:
    """`submission.name`: call it as the student's function; `many` makes several calls at once."""

    __slots__ = ("_session", "_name")

    def __init__(self, session: RunnerSession, name: str) -> None:
        self._session, self._name = session, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._session.call_function(self._name, args, kwargs)

    def many(self, calls: Iterable[tuple], then: Callable[[Any], Any] | None = None) -> list[Any]:
        """`[then(name(*args)) for args in calls]`, the calls sent ahead of their replies (see
        `RunnerSession.call_function_many`); a gradient check's perturbed inputs go this way."""
        return self._session.call_function_many(self._name, ((tuple(args), {}) for args in calls), then)

    def __repr__(self) -> str:
        return f"<submission.{self._name} (runs in the sandbox)>"


class Handle:
    """A student object that stayed in the runner: call it, read its attributes, nothing else."""

    def __init__(self, session: RunnerSession, tag: dict) -> None:
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_tag", tag)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._session.call(self._label(), {"op": "call", "handle": self._tag["$h"]}, args, kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        methods = self._tag.get("methods")
        if isinstance(methods, list) and name in methods:  # the runner's word: a lie only costs its own points
            return MethodHandle(self, name)
        return self._fetch(name)

    def _fetch(self, name: str) -> Any:
        """The attribute `name` of the object, read in the runner."""
        self._session._ready()
        return self._session._request({"op": "getattr", "$h": self._tag["$h"], "attr": name}, [],
                                      f"{self._label()}.{name}")

    def _label(self) -> str:
        name = self._tag.get("name")  # a function or method's qualified name, from the runner: checked here
        if isinstance(name, str) and len(name) <= 80 and _QUALNAME.fullmatch(name):
            return f"{name}()"
        return f"a {self._tag.get('type', 'object')} object"

    def _refuse(self, *_: Any) -> Any:
        raise TypeError(f"{self._label()} from the submission cannot be compared or converted; "
                        "the test must turn it into numbers first")

    __bool__ = __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __hash__ = _refuse
    __iter__ = __len__ = __contains__ = __array__ = __float__ = __int__ = __index__ = _refuse

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a handle to a submission object is read-only")

    def __repr__(self) -> str:
        return f"<{self._label()} in the sandbox>"


class MethodHandle(Handle):
    """`obj.name` where the runner said `name` is a method of obj's class: calling it is one request
    (the runner looks the method up as it calls it), not a getattr and then a call; anything else
    first fetches the bound method itself."""

    def __init__(self, owner: Handle, name: str) -> None:
        super().__init__(owner._session, owner._tag)
        object.__setattr__(self, "_method", name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        request = {"op": "call", "handle": self._tag["$h"], "method": self._method}
        return self._session.call(self._label(), request, args, kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._fetch(self._method), name)

    def _label(self) -> str:
        kind = self._tag.get("type")
        if isinstance(kind, str) and len(kind) <= 80 and _QUALNAME.fullmatch(kind):
            return f"{kind}.{self._method}()"
        return f"{self._method}() of a submission object"


class LazyProxy:
    """`submission.lazy`: `submission.lazy.name(...)` describes a call of the student's function without
    making it (a Lazy)."""

    def __init__(self, session: RunnerSession) -> None:
        object.__setattr__(self, "_session", session)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        self._session.require_api(name)
        return _Describer(self._session, {"name": name}, name, frozenset([name]))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("the submission proxy is read-only")


class _Describer:
    """What a Lazy is made by: calling it describes the call of an API function, or of a method of
    another Lazy's result."""

    __slots__ = ("_session", "_target", "_label", "_names")

    def __init__(self, session: RunnerSession, target: dict, label: str, names: frozenset[str]) -> None:
        self._session, self._target, self._label, self._names = session, target, label, names

    def __call__(self, *args: Any, **kwargs: Any) -> Lazy:
        return Lazy(self._session, self._target, args, kwargs, f"{self._label}()", self._names)


class Lazy(wire.Call):
    """A call of the student's code described, not made: `submission.lazy.Affine(W, b).forward(x)`.

    It is made in the runner only when something needs its value: as an argument (or the receiver) of
    a call that is made (its result then stays in the runner), or by `evaluate`/`evaluate_many`. A
    gradient check over a function that returns one (`lambda v: submission.lazy.Affine(v, b).forward(x)`)
    sends every perturbed call ahead of the replies, one round trip for the chain instead of one per
    call in it, with a fresh object each time as before. Any other use of it is a TypeError."""

    __slots__ = ("_session", "_label", "_names")

    def __init__(self, session: RunnerSession, target: dict, args: tuple, kwargs: dict, label: str,
                 names: frozenset[str]) -> None:
        super().__init__(target, args, kwargs)
        names = names.union(*(a._names for a in _lazies_in((args, kwargs))))
        for key, value in (("_session", session), ("_label", label), ("_names", names)):
            object.__setattr__(self, key, value)

    def __getattr__(self, name: str) -> _Describer:
        if name.startswith("_"):
            raise AttributeError(name)
        return _Describer(self._session, {"of": self, "method": name}, f"{self._label}.{name}", self._names)

    def _refuse(self, *_: Any) -> Any:
        raise TypeError(f"{self._label} is a described call (submission.lazy), not its value: pass it to a "
                        "call, or get its value with grader.judge.proxy.evaluate")

    __bool__ = __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __hash__ = _refuse
    __iter__ = __len__ = __contains__ = __array__ = __float__ = __int__ = __index__ = __call__ = _refuse

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a described call is read-only")

    def __repr__(self) -> str:
        return f"<{self._label}, described (submission.lazy)>"


def _lazies_in(value: Any, depth: int = 0) -> Iterator[Lazy]:
    """The Lazy values among a call's arguments, as far down as the wire carries them."""
    if isinstance(value, Lazy):
        yield value
    elif isinstance(value, (list, tuple)) and depth < wire.MAX_DEPTH:
        for item in value:
            yield from _lazies_in(item, depth + 1)
    elif isinstance(value, dict) and depth < wire.MAX_DEPTH:
        for item in value.values():
            yield from _lazies_in(item, depth + 1)


def evaluate(value: Any) -> Any:
    """The value of a described call (made now, in the runner); any other value as it is."""
    return value._session.call_described_many([value])[0] if isinstance(value, Lazy) else value


def evaluate_many(values: list[Any], then: Callable[[Any], Any] | None = None) -> list[Any]:
    """`[then(evaluate(v)) for v in values]`, where every value is a Lazy of one session: their calls
    are sent ahead of the replies (RunnerSession.call_described_many). Plain values are passed through
    `then` as they are."""
    then = then or (lambda v: v)
    if not values or not all(isinstance(v, Lazy) for v in values):
        return [then(evaluate(v)) for v in values]
    return values[0]._session.call_described_many(values, then)
