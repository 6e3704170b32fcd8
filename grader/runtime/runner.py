"""The untrusted side: load a student's modules and answer the judge's calls over a channel.

Runs inside the sandbox (a jailed subprocess or a container), started as
`python -I -c BOOTSTRAP RUNTIME_DIR CONFIG_JSON` (see `grader.sandbox.BOOTSTRAP`). It imports only the standard
library, numpy and `grader.runtime.wire`; it holds no test, no reference value and no report, so nothing the
student's code does here can change a score except through the values it returns, which the judge
checks on its own side.

Protocol: the runner answers one frame per request. It sends two frames unasked: `started` before any
student code runs, then whether the modules imported. Requests: `call` (an API name, a handle, a
handle's method by name, or a method of what a described call returns; described calls, `$c`, may also
stand among the arguments, and are made as the request is read), `getattr` (on a handle), `seed` (reseed
the global generators before a test), `release`. A `call`'s reply also names the arguments the call changed in
place (`"mutated": ["scores", "params['W1']"]`); the judge decides whether that is allowed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
import os
import random
import socket
import sys
import time
import traceback
import types
from pathlib import Path
from typing import Any

import numpy as np

from grader.runtime import wire

MAX_MESSAGE = 2000
MAX_TRACEBACK = 4000
# Arguments changed in place: arrays are kept as a copy while the call's copies stay under COPY_BYTES;
# past that, a hash of SAMPLE_BLOCKS evenly spaced runs of SAMPLE_ITEMS elements in all (a change to a
# few entries of a huge array can go unseen there; a whole-array `x -= x.mean()` or a row-wise shift
# cannot). Contiguous runs: the sample reads a few MB, not every cache line of the array.
COPY_BYTES = 1 << 26
SAMPLE_ITEMS = 1 << 20
SAMPLE_BLOCKS = 64
COMPARE_BYTES = 1 << 20
MAX_WATCHED = 256  # arrays and containers looked at per call, and how deep into nested arguments
MAX_DEPTH = 4


class Runner:
    def __init__(self, config: dict) -> None:
        self.workspace = Path(config["workspace"])
        self.api: dict[str, list[str]] = config["api"]
        self.seed: int = config["seed"]
        self.scratch = Path(config["scratch"])
        self.needs: list[str] = [str(n) for n in config.get("needs", [])]
        self.functions: dict[str, Any] = {}
        self.handles: dict[int, Any] = {}
        self.mutated: list[str] = []  # what the last call changed in place, by argument name
        self._hooks = {"on_handle": self._resolve, "on_call": self._call_described}  # how a request decodes

    # -- loading --------------------------------------------------------------------------------------
    def load(self) -> dict:
        os.chdir(self.scratch)
        seed_everything(self.seed)
        sys.path.insert(0, str(self.workspace))
        missing = []
        for filename, names in self.api.items():
            module = self._import(self.workspace / filename)
            for name in names:
                if callable(getattr(module, name, None)):
                    self.functions[name] = getattr(module, name)
                else:
                    missing.append(f"{filename}: {name}")
        return {"missing": missing, "python": sys.version.split()[0], "numpy": np.__version__}

    @staticmethod
    def _import(path: Path) -> Any:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
        return module

    # -- serving --------------------------------------------------------------------------------------
    def handle(self, request: dict, blobs: list[bytes]) -> Any:
        op = request.get("op")
        self.mutated = []
        if op == "call":
            hooks = self._hooks
            target = self._target(request, wire.decode(request["of"], blobs, **hooks) if "of" in request else None)
            args = wire.decode(request.get("args", []), blobs, **hooks)
            kwargs = wire.decode(request.get("kwargs", {"$d": []}), blobs, **hooks)
            result, self.mutated = call_watched(target, args, kwargs)
            return result
        if op == "getattr":
            return getattr(self._resolve(request), str(request["attr"]))
        if op == "seed":
            seed_everything(int(request["seed"]))
            return None
        if op == "release":
            for h in request.get("handles", []):
                self.handles.pop(h, None)
            return None
        raise wire.WireError(f"unknown op {op!r}")

    def _target(self, request: dict, receiver: Any = None) -> Any:
        """What a call calls: an API function, a handle or its method, or a method of `receiver` (the
        result of the call described in the request's `of`)."""
        if "of" in request:
            return getattr(receiver, str(request["method"]))
        if "handle" in request:
            target = self._resolve({"$h": request["handle"]})
            return getattr(target, str(request["method"])) if "method" in request else target
        return self.functions[request["name"]]

    def _call_described(self, node: dict, receiver: Any, args: list, kwargs: dict) -> Any:
        """A call the judge described inside a request (grader.judge.proxy.Lazy), made as the request is
        read. Its result stays here, as an argument or the receiver of the call around it; only the
        outermost call's arguments are watched for changes in place."""
        return self._target(node, receiver)(*args, **kwargs)

    def _resolve(self, tagged: dict) -> Any:
        return self.handles[tagged["$h"]]

    def _store(self, obj: Any) -> dict:
        hid = len(self.handles) + 1
        while hid in self.handles:
            hid += 1
        self.handles[hid] = obj
        tag = {"$h": hid, "type": type(obj).__name__, "callable": callable(obj)}
        if isinstance(obj, (types.FunctionType, types.MethodType)) and len(obj.__qualname__) <= 80:
            tag["name"] = obj.__qualname__  # so that feedback can say `Net.loss()`; the judge checks it
        elif methods := _methods(type(obj)):
            tag["methods"] = methods  # `obj.loss(X, y)` is then one call, not a getattr and a call
        return tag

    def reply(self, value: Any) -> tuple[dict, list[bytes]]:
        tree, blobs = wire.encode(value, on_object=self._store)
        if self.mutated:
            return {"ok": True, "value": tree, "mutated": self.mutated}, blobs
        return {"ok": True, "value": tree}, blobs

    def error_reply(self, exc: BaseException) -> tuple[dict, list[bytes]]:
        return {"ok": False, "error": describe(exc, self.workspace)}, []

    def unsendable_reply(self, exc: BaseException) -> tuple[dict, list[bytes]]:
        # The function ran; its result cannot cross. The judge words this type its own way.
        return {"ok": False, "error": {"type": wire.UNSENDABLE, "message": str(exc)[:MAX_MESSAGE],
                                       "traceback": ""}}, []


_METHODS: dict[type, list[str]] = {}
MAX_METHODS = 64


def _methods(cls: type) -> list[str]:
    """The public methods a class defines or inherits (worked out once per class)."""
    if cls not in _METHODS:
        try:
            names = [n for n in dir(cls) if not n.startswith("_") and len(n) <= 80
                     and isinstance(inspect.getattr_static(cls, n, None), (types.FunctionType, staticmethod,
                                                                           classmethod))]
        except Exception:  # noqa: BLE001  (a class that breaks dir(): its methods go by getattr)
            names = []
        _METHODS[cls] = names[:MAX_METHODS]
    return _METHODS[cls]


def call_watched(target: Any, args: list, kwargs: dict) -> tuple[Any, list[str]]:
    """`target(*args, **kwargs)`, and the labels of the arguments it changed in place (`scores`,
    `params['W1']`). Arguments are named only when one changed: a signature's binding is a tenth of a
    small call's time in the runner, and almost no call changes anything."""
    before = snapshot(args, kwargs)
    result = target(*args, **kwargs)
    changes = changed(before)
    if not changes:
        return result, []
    names = name_arguments(target, args, kwargs)
    return result, [names[key] + path for key, path in changes]


def name_arguments(target: Any, args: list | tuple, kwargs: dict) -> dict[int | str, str]:
    """The name of each argument, by position or keyword, as the function's signature gives it:
    `scores`, `rest[0]` for a `*rest`, and `argument 2` where there is no signature to say."""
    try:
        parameters = list(_signature(target).parameters.values())
    except (TypeError, ValueError):  # no signature (a builtin, some C types)
        parameters = []
    positional = [p.name for p in parameters if p.kind in (inspect.Parameter.POSITIONAL_ONLY,
                                                            inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    star = next((p.name for p in parameters if p.kind is inspect.Parameter.VAR_POSITIONAL), None)
    names: dict[int | str, str] = {}
    for i in range(len(args)):
        if i < len(positional):
            names[i] = positional[i]
        else:
            names[i] = f"{star}[{i - len(positional)}]" if star else f"argument {i + 1}"
    return names | {key: str(key) for key in kwargs}  # a keyword is its parameter's name, or a **kwargs key


_SIGNATURES: dict[Any, inspect.Signature] = {}


def _signature(target: Any) -> inspect.Signature:
    """A signature worked out once per function, per method's function (a bound method is a new object
    per call, its signature that of its function without the first parameter) and per class (its
    constructor's): a fifth of a small call's time in the runner. Other callables each time."""
    kind = type(target)
    if kind is types.MethodType:
        key: Any = ("method", target.__func__)
    elif kind is types.FunctionType or isinstance(target, type):
        key = target
    else:
        return inspect.signature(target)
    try:
        return _SIGNATURES[key]
    except TypeError:  # a class whose metaclass refuses hashing
        return inspect.signature(target)
    except KeyError:
        _SIGNATURES[key] = signature = inspect.signature(target)
        return signature


def snapshot(args: list | tuple, kwargs: dict) -> list[tuple[int | str, str, Any, Any]]:
    """(argument's position or keyword, path inside it, object, fingerprint) for each array and
    dict/list found in the arguments, before a call."""
    out: list[tuple[int | str, str, Any, Any]] = []
    budget = [COPY_BYTES]

    def walk(key: int | str, path: str, value: Any, depth: int) -> None:
        if len(out) >= MAX_WATCHED:
            return
        if isinstance(value, np.ndarray):
            copy = value.nbytes <= budget[0]
            budget[0] -= value.nbytes if copy else 0
            out.append((key, path, value, _fingerprint(value, copy)))
        elif isinstance(value, (dict, list)) and depth < MAX_DEPTH:
            out.append((key, path, value, _members(value)))
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for inner, member in list(items)[:MAX_WATCHED]:
                walk(key, f"{path}[{inner!r}]", member, depth + 1)
        elif isinstance(value, tuple) and depth < MAX_DEPTH:
            for i, member in enumerate(value[:MAX_WATCHED]):
                walk(key, f"{path}[{i}]", member, depth + 1)

    for key, value in [*enumerate(args), *kwargs.items()]:
        walk(key, "", value, 0)
    return out


def changed(before: list[tuple[int | str, str, Any, Any]]) -> list[tuple[int | str, str]]:
    """(argument, path) of each array whose contents, or container whose members, differ from the
    snapshot."""
    out: list[tuple[int | str, str]] = []
    for key, path, value, print_before in before:
        if isinstance(value, np.ndarray):
            now = _fingerprint(value, isinstance(print_before[-1], np.ndarray), live=True)
        else:
            now = _members(value)
        if not _same(print_before, now):
            out.append((key, path))
    return out


def _fingerprint(array: np.ndarray, copy: bool, *, live: bool = False) -> tuple:
    """Shape, dtype and contents: a copy of the array (with `live`, the array itself, to be compared
    with an earlier copy), or a hash of a sample of its elements."""
    head = (array.shape, array.dtype.str)
    if array.dtype.hasobject:  # wire never sends these; a handle's own object array is not looked into
        return (*head, None)
    if copy:
        return (*head, array if live else array.copy())
    flat = array.reshape(-1)
    block = max(1, SAMPLE_ITEMS // SAMPLE_BLOCKS)
    starts = np.linspace(0, max(0, flat.size - block), SAMPLE_BLOCKS).astype(np.int64)
    digest = hashlib.blake2b(digest_size=16)
    for start in np.unique(starts):
        digest.update(np.ascontiguousarray(flat[start:start + block]).tobytes())
    return (*head, digest.digest())


def _members(container: dict | list) -> tuple:
    """Which objects a dict or list holds (by identity): a replaced, added or removed entry shows."""
    if isinstance(container, dict):
        return tuple((repr(k), id(v)) for k, v in container.items())
    return tuple(id(v) for v in container)


def _same(a: tuple, b: tuple) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if isinstance(x, np.ndarray):
            if not isinstance(y, np.ndarray) or not _same_bytes(x, y):
                return False
        elif x != y:
            return False
    return True


def _same_bytes(a: np.ndarray, b: np.ndarray) -> bool:
    """Bytewise, so NaN stays equal to NaN and -0.0 to itself; in 1 MB pieces, so a 10 MB argument
    costs a compare, not two more copies and a 10 MB temporary."""
    if a.shape != b.shape or a.dtype.str != b.dtype.str:
        return False
    if a.nbytes <= COMPARE_BYTES:
        return a.tobytes() == b.tobytes()
    x, y = _bytes_of(a), _bytes_of(b)
    return all(np.array_equal(x[i:i + COMPARE_BYTES], y[i:i + COMPARE_BYTES])
               for i in range(0, x.size, COMPARE_BYTES))


def _bytes_of(a: np.ndarray) -> np.ndarray:
    flat = np.ascontiguousarray(a).reshape(-1)  # in C order: a copy only for a non-contiguous array
    return flat.view(np.uint8) if flat.nbytes else np.empty(0, dtype=np.uint8)


def seed_everything(seed: int) -> None:
    """The global generators a student may use without passing a seed: each test starts from its own."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch = sys.modules.get("torch")  # only when the student imported it; never imported here
    if torch is not None and hasattr(torch, "manual_seed"):
        torch.manual_seed(seed)


def describe(exc: BaseException, workspace: Path) -> dict:
    """The student-facing facts of an exception: type, message, and the frames in student files."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if _inside(f.filename, workspace)]
    tb = "".join(traceback.format_list(frames))[-MAX_TRACEBACK:]
    try:
        message = str(exc)[:MAX_MESSAGE]
    except BaseException:  # a hostile __str__ must not kill the runner's error path
        message = "<exception message could not be read>"
    return {"type": type(exc).__name__, "message": message, "traceback": tb}


def _inside(filename: str, workspace: Path) -> bool:
    try:
        return Path(filename).resolve().is_relative_to(workspace.resolve())
    except (OSError, ValueError):
        return False


def _config(given: dict, channel: wire.Channel) -> dict:
    """The runner's config: the command line's, or for a warm runner (`{"warm": true, "preload": [...],
    "wait": seconds}`, started before its submission was known) the first frame the judge sends, once the
    modules it will need are imported. A warm runner writes nothing before that frame: the judge attaches
    later. One that no judge wrote to within `wait` ends quietly, and its container with it, rather than
    idling until its lifetime cap."""
    if not given.get("warm"):
        return given
    for name in given.get("preload", []):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001  (a missing module is reported as missing_needs after the frame)
            pass
    wait = given.get("wait")
    try:
        config, _ = channel.receive(deadline=None if wait is None else time.monotonic() + float(wait))
    except wire.ChannelTimeout:
        raise SystemExit(0) from None
    return config


def _take_channel() -> wire.Channel:
    """Move the protocol off fds 0/1 so that student prints go to stderr, never into a frame."""
    read_fd, write_fd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(2, 1)
    return wire.Channel(read_fd, write_fd, max_frame_bytes=1 << 34)


def _socket_channel(path: str, stdio: wire.Channel) -> wire.Channel:
    """The channel over the socket the judge listens on (a docker runner's, see grader.sandbox.docker):
    the stdin/stdout channel is closed, so from here on only the socket carries frames."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    if sock.recv(1) != wire.CHANNEL_ACCEPTED:  # the judge refused this connection, or went away
        raise SystemExit(3)
    fd = sock.detach()
    for old in {stdio.read_fd, stdio.write_fd}:
        os.close(old)
    return wire.Channel(fd, fd, max_frame_bytes=stdio.max_frame_bytes)


def main() -> None:
    channel = _take_channel()
    config = _config(json.loads(sys.argv[-1]), channel)
    if config.get("channel"):
        channel = _socket_channel(config["channel"], channel)
    runner = Runner(config)
    # Before any student code runs: tells the judge that the sandbox itself works, so a runner that
    # dies after this is the submission's doing, and one that never says it is the grader's fault.
    absent = [name for name in runner.needs if importlib.util.find_spec(name) is None]
    channel.send({"ok": True, "phase": "started", "missing_needs": absent})
    try:
        info = runner.load()
    except BaseException as exc:  # import-time SystemExit, KeyboardInterrupt and skips included
        channel.send({"ok": False, "phase": "import", "error": describe(exc, runner.workspace)})
        return
    channel.send({"ok": True, "value": {"$d": [[k, v] for k, v in info.items()]}})
    while True:
        try:
            request, blobs = channel.receive()
        except wire.ChannelClosed:
            return
        try:
            result = runner.handle(request, blobs)
            try:  # a value JSON refuses fails here, before anything is written
                frame = wire.pack(*runner.reply(result))
            except (wire.WireError, ValueError, TypeError, OverflowError, RecursionError) as exc:
                frame = wire.pack(*runner.unsendable_reply(exc))
        except BaseException as exc:
            frame = wire.pack(*runner.error_reply(exc))
        sys.stdout.flush()
        channel.send_frame(frame)


if __name__ == "__main__":
    main()
