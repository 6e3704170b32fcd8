"""The frames that cross between judge and runner, and nothing else.

Shared by both sides, so it imports only the standard library and numpy. Values travel as a JSON tree
plus binary blobs: arrays as `.npy` bytes (read back with `allow_pickle=False`, numeric dtypes only),
tuples, dicts and non-finite floats as tagged JSON, and every other object as a handle that stays on
the side that made it. Nothing here ever unpickles, evaluates or imports what it reads.

Frame layout on the byte stream:  ">II" (json length, blob count), the JSON, then per blob ">Q" length
and the bytes. The reader counts bytes against a cap before it allocates anything.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import math
import os
import re
import select
import stat
import struct
import time
from typing import Any, Callable

import numpy as np

MAX_DEPTH = 32
# The JSON part of a frame carries plain values (arrays travel as blobs). Parsed, JSON grows ~30-fold
# (a list of 30 million empty lists from a 60 MB frame is gigabytes), so it has a cap of its own.
MAX_JSON_BYTES = 4 << 20
# Numeric, boolean and unicode dtypes are plain data; object, void (structured) and datetime are not
# accepted, so a frame can never smuggle a pickle or an exotic buffer into the judge.
ALLOWED_KINDS = frozenset("biufcU")
READ_AHEAD = 64 << 10  # what one read may take beyond the bytes it needs (the start of what follows)
PIPE_BYTES = 1 << 20  # the size a pipe is widened to (Linux's default cap for an unprivileged process)
MAX_IOV = 512  # buffers per writev call (the kernel takes up to 1024)
# The judge's one byte to a runner that connected to its channel socket, once it has checked who that
# is; the runner waits for it before any student code runs, so it is still alive to be checked.
CHANNEL_ACCEPTED = b"\x06"


class WireError(Exception):
    """A frame or value that breaks the protocol: too big, malformed, or of a forbidden kind."""


class ChannelClosed(WireError):
    """The other side closed the stream (a dead runner, seen from the judge)."""


class ChannelTimeout(WireError):
    """No complete frame arrived (or could be sent) before the deadline."""


# ---------------------------------------------------------------------------------------------------
# values <-> (JSON tree, blobs)


class Call:
    """A call described for the runner to make as it reads the frame that holds it (the judge's
    `submission.lazy`, grader.judge.proxy.Lazy): `_target` names an API function (`{"name": ...}`), a
    handle (`{"handle": id}`), or a method of another Call's result (`{"of": Call, "method": ...}`).
    Only the judge sends these; a reply that holds one is refused (`decode` without `on_call`)."""

    __slots__ = ("_target", "_args", "_kwargs")

    def __init__(self, target: dict, args: tuple, kwargs: dict) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_args", args)
        object.__setattr__(self, "_kwargs", kwargs)


def encode(value: Any, *, on_object: Callable[[Any], dict] | None = None,
           blobs: list[Any] | None = None) -> tuple[Any, list[Any]]:
    """Turn a value into a JSON-able tree and a list of binary blobs.

    A `Call` becomes a `$c` node, its receiver and arguments encoded with the rest. `on_object`
    receives any other value that is not plain data and returns its tagged handle; without it, such a
    value is a WireError. Given `blobs`, blobs are appended there: several values can share one frame.
    """
    blobs = [] if blobs is None else blobs

    def walk(v: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise WireError(f"value nested deeper than {MAX_DEPTH} levels")
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, int) and type(v) in (int, bool):
            if not -2**63 <= v < 2**64:  # JSON could carry it, but no check needs it and str() may refuse
                raise WireError(f"an integer of {v.bit_length()} bits; integers cross as 64-bit values")
            return v
        if type(v) is float:
            return v if math.isfinite(v) else {"$f": repr(v)}
        if isinstance(v, np.ndarray) and v.dtype.kind in ALLOWED_KINDS:
            blobs.append(_npy_bytes(v))
            return {"$a": len(blobs) - 1}
        if isinstance(v, np.generic) and v.dtype.kind in ALLOWED_KINDS:
            blobs.append(_npy_bytes(np.asarray(v)))
            return {"$s": len(blobs) - 1}
        if type(v) is tuple:
            return {"$t": [walk(x, depth + 1) for x in v]}
        if type(v) is list:
            return [walk(x, depth + 1) for x in v]
        if type(v) is dict and all(type(k) in (str, int) for k in v):
            return {"$d": [[k, walk(x, depth + 1)] for k, x in v.items()]}
        if isinstance(v, Call):
            return {"$c": _call_node(v, lambda x: walk(x, depth + 1))}
        if on_object is None:
            raise WireError(f"cannot send a value of type {type(v).__name__}")
        return on_object(v)

    return walk(value, 0), blobs


def _call_node(call: Call, walk: Callable[[Any], Any]) -> dict:
    """A Call as its `$c` node: the target, with its receiver and arguments encoded by `walk`."""
    node = {**call._target, "args": walk(list(call._args)), "kwargs": walk(dict(call._kwargs))}
    if "of" in node:
        node["of"] = walk(node["of"])
    return node


def decode(tree: Any, blobs: list[bytes], *, on_handle: Callable[[dict], Any] | None = None,
           on_call: Callable[[dict, Any, list, dict], Any] | None = None) -> Any:
    """Inverse of `encode`. Arrays come back as base `ndarray`s; handles go through `on_handle`; a `$c`
    node (the runner's side only) is made by `on_call(node, receiver, args, kwargs)` as it is read,
    its receiver first and then its arguments, as Python evaluates `f(a).m(b)`."""

    def walk(t: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise WireError(f"value nested deeper than {MAX_DEPTH} levels")
        if t is None or isinstance(t, (bool, int, float, str)):
            return t
        if isinstance(t, list):
            return [walk(x, depth + 1) for x in t]
        if not isinstance(t, dict) or len(t) == 0:
            raise WireError("malformed value in frame")
        tag = next(iter(t))
        if tag == "$f" and t[tag] in ("nan", "inf", "-inf"):
            return float(t[tag])
        if tag == "$a":
            return _npy_array(blobs, t[tag])
        if tag == "$s":
            return _npy_array(blobs, t[tag])[()]
        if tag == "$t":
            return tuple(walk(x, depth + 1) for x in _list(t[tag]))
        if tag == "$d":
            return {_key(k): walk(x, depth + 1) for k, x in (_pair(p) for p in _list(t[tag]))}
        if tag == "$h" and on_handle is not None:
            return on_handle(t)
        if tag == "$c" and on_call is not None and isinstance(t[tag], dict):
            node = t[tag]
            receiver = walk(node["of"], depth + 1) if "of" in node else None
            args, kwargs = walk(node.get("args", []), depth + 1), walk(node.get("kwargs", {"$d": []}), depth + 1)
            if not isinstance(args, list) or not isinstance(kwargs, dict):
                raise WireError("malformed call in frame")
            return on_call(node, receiver, args, kwargs)
        raise WireError(f"unknown or unexpected tag {tag!r} in frame")

    return walk(tree, 0)


def _list(x: Any) -> list:
    if not isinstance(x, list):
        raise WireError("malformed container in frame")
    return x


def _pair(p: Any) -> tuple[Any, Any]:
    if not isinstance(p, list) or len(p) != 2:
        raise WireError("malformed dict entry in frame")
    return p[0], p[1]


def _key(k: Any) -> str | int:
    if type(k) not in (str, int):
        raise WireError("dict keys must be str or int")
    return k


def _npy_bytes(a: np.ndarray) -> tuple[bytes, np.ndarray]:
    """The `.npy` bytes of `a` as two segments, its header and a byte view of its own data.

    Nothing is copied for a contiguous array: the frame's writer hands the array's memory to the
    kernel as it is. (np.save into a BytesIO grows a buffer as it goes: thousands of page faults and
    two copies per 10 MB.) Viewed as the base class first: what crosses is always plain numbers, never
    a subclass's behaviour."""
    base = a.view(np.ndarray)
    if not (base.flags.c_contiguous or base.flags.f_contiguous):
        base = np.ascontiguousarray(base)
    fortran = base.flags.f_contiguous and not base.flags.c_contiguous
    if base.nbytes == 0:
        return _npy_header(base.dtype, fortran, base.shape), np.empty(0, dtype=np.uint8)
    # ravel(order="K") of a contiguous array is a view in memory order: C order, or F order when the
    # header says fortran_order.
    return _npy_header(base.dtype, fortran, base.shape), base.ravel(order="K").view(np.uint8)


def _npy_header(dtype: np.dtype, fortran: bool, shape: tuple[int, ...]) -> bytes:
    """A version 1.0 `.npy` header, padded to a multiple of 64 bytes (numpy's own writer is a
    tenth of a millisecond per array; a small call has two)."""
    text = f"{{'descr': '{dtype.str}', 'fortran_order': {fortran}, 'shape': {shape!r}, }}"
    pad = -(len(_NPY_MAGIC) + 2 + len(text) + 1) % 64
    header = (text + " " * pad + "\n").encode("latin-1")
    return _NPY_MAGIC + struct.pack("<H", len(header)) + header


def _joined(blob: Any) -> Any:
    """A blob as one buffer: received blobs already are; an encoded array's segments are joined."""
    if isinstance(blob, tuple):
        return np.concatenate([np.frombuffer(memoryview(part).cast("B"), dtype=np.uint8) for part in blob])
    return blob


_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
_MAX_HEAD = 12 + 65536  # magic, version and length fields, and the longest header numpy writes
_NPY_MAGIC = b"\x93NUMPY\x01\x00"
# The header `_npy_header` writes, matched exactly; any other (numpy's, a version 2.0 one, a forged
# one) goes through numpy's parser, which evaluates it as a Python literal.
_NPY_HEAD = re.compile(rb"\{'descr': '([<>|=][a-zA-Z][0-9]{0,9})', 'fortran_order': (True|False), "
                       rb"'shape': \(((?:[0-9]{1,19}, )*[0-9]{1,19},?|)\), \} *\n")


def _npy_array(blobs: list[Any], index: Any) -> np.ndarray:
    """The array in blob `index`, viewing the received buffer (no copy): header checked, data sized."""
    if type(index) is not int or not 0 <= index < len(blobs):
        raise WireError("array reference out of range in frame")
    blob = _joined(blobs[index])
    shape, fortran, dtype, offset = _npy_head(memoryview(blob).cast("B"))
    if dtype.kind not in ALLOWED_KINDS or dtype.hasobject:
        raise WireError(f"array of dtype {dtype} is not accepted")
    count = math.prod(shape)
    if len(blob) - offset != count * dtype.itemsize:
        raise WireError(f"unreadable array in frame: {len(blob) - offset} bytes of data for shape {shape} "
                        f"of {dtype}")
    arr = np.frombuffer(blob, dtype=dtype, count=count, offset=offset)
    return arr.reshape(shape, order="F" if fortran else "C")


def _npy_head(data: memoryview) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """Shape, fortran order, dtype and the data's offset, from an `.npy` header."""
    try:
        if bytes(data[:8]) == _NPY_MAGIC and len(data) >= 10:
            end = 10 + int.from_bytes(data[8:10], "little")
            match = _NPY_HEAD.fullmatch(bytes(data[10:end]))
            if match:
                shape = tuple(int(x) for x in match[3].split(b",") if x.strip())
                return shape, match[2] == b"True", np.dtype(match[1].decode()), end
        head = io.BytesIO(bytes(data[:_MAX_HEAD]))
        version = np.lib.format.read_magic(head)
        if version not in _HEADER_READERS:
            raise ValueError(f"format version {version} is not one the grader writes")
        shape, fortran, dtype = _HEADER_READERS[version](head)
        return shape, fortran, dtype, head.tell()
    except Exception as exc:  # any parse failure is the sender's fault, reported as a protocol error
        raise WireError(f"unreadable array in frame: {exc}") from None


# ---------------------------------------------------------------------------------------------------
# messages <-> frames


def pack(message: dict, blobs: list[Any]) -> list[Any]:
    """A whole frame as the buffers to write in order. A blob is one buffer, or (from `encode`) the
    segments of an array's `.npy` bytes; none is copied into a joined string."""
    body = _ENCODER.encode(message).encode()
    parts = [struct.pack(">II", len(body), len(blobs)), body]
    for blob in blobs:
        segments = blob if isinstance(blob, tuple) else (blob,)
        parts.append(struct.pack(">Q", sum(memoryview(x).nbytes for x in segments)))
        parts += segments
    return parts


# Made once: json.dumps and json.loads with options build a new coder per call (a few microseconds of
# every small call, on both sides).
_ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"))


def _bare_constant(name: str) -> Any:
    # `pack` never writes NaN or Infinity bare (non-finite floats cross tagged, as {"$f": "nan"}), so
    # a frame that holds one was forged; refused here, it can reach no report and no check.
    raise WireError(f"malformed frame: a bare {name} (non-finite numbers cross tagged)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses to inf: as forged as a bare Infinity
        raise WireError(f"malformed frame: {text[:20]} is not a finite number")
    return value


# The error type the runner reports when a function's result cannot be encoded; the judge words it.
UNSENDABLE = "UnsendableValue"


class Channel:
    """A frame stream over file descriptors (two pipe ends, or one socket for both).

    Every read and write has a deadline, and reads stop at `max_frame_bytes` before allocating more:
    a silent or flooding peer costs the other side a bounded time and memory. Both fds are made
    non-blocking and a pipe is widened to 1 MB, so a frame costs few system calls: one `writev` per
    frame, and reads that also take whatever else has already arrived (kept for the next read).
    """

    def __init__(self, read_fd: int, write_fd: int, *, max_frame_bytes: int) -> None:
        self.read_fd, self.write_fd, self.max_frame_bytes = read_fd, write_fd, max_frame_bytes
        self._ahead = memoryview(b"")  # bytes read past the last complete read
        self._spare = bytearray(READ_AHEAD)
        self._json = json.JSONDecoder(parse_constant=_bare_constant, parse_float=_finite_float)
        for fd in {read_fd, write_fd}:
            _tune(fd)

    def send(self, message: dict, blobs: list[Any] = (), *, deadline: float | None = None) -> None:
        self.send_frame(pack(message, list(blobs)), deadline=deadline)

    def send_frame(self, frame: list[Any], *, deadline: float | None = None) -> None:
        """Write a frame made by `pack`, as few `writev` calls as the kernel takes it in."""
        views = [v for v in (memoryview(part).cast("B") for part in frame) if v.nbytes]
        while views:
            try:
                written = os.writev(self.write_fd, views[:MAX_IOV])
            except BlockingIOError:
                self._wait(self.write_fd, deadline, write=True)
                continue
            except (BrokenPipeError, ConnectionResetError):
                raise ChannelClosed("the other side closed the channel") from None
            while written and written >= views[0].nbytes:
                written -= views.pop(0).nbytes
            if written:
                views[0] = views[0][written:]

    def receive(self, *, deadline: float | None = None) -> tuple[dict, list[Any]]:
        budget = [self.max_frame_bytes]
        json_len, n_blobs = struct.unpack(">II", self._read(8, deadline, budget))
        if json_len > MAX_JSON_BYTES:
            raise WireError(f"the plain values in a frame take {json_len} bytes of JSON, over the limit of "
                            f"{MAX_JSON_BYTES} (return large data as numpy arrays)")
        try:
            # `pack` writes ASCII: bytes that are not UTF-8 (json.loads would guess UTF-16) are malformed.
            message = self._json.decode(str(self._read(json_len, deadline, budget), "utf-8"))
        except (ValueError, RecursionError) as exc:
            raise WireError(f"malformed frame: {exc}") from None
        if not isinstance(message, dict):
            raise WireError("malformed frame: message is not an object")
        blobs = []
        for _ in range(n_blobs):
            (size,) = struct.unpack(">Q", self._read(8, deadline, budget))
            blobs.append(self._read(size, deadline, budget, raw=True))
        return message, blobs

    def _read(self, n: int, deadline: float | None, budget: list[int], *, raw: bool = False) -> Any:
        """Exactly n bytes in one buffer of that size: a bytes-like object, or with `raw` an uninitialised
        uint8 array of its own (a blob: arrays then view it, writable, and nothing is zero-filled first).
        Each read also fills the spare buffer with what follows, if it has arrived, so a small frame is
        one system call."""
        budget[0] -= n
        if budget[0] < 0:
            raise WireError(f"frame larger than the limit of {self.max_frame_bytes} bytes")
        if not raw and self._ahead.nbytes >= n:  # a small frame's parts: already here, read-only is enough
            got, self._ahead = self._ahead[:n], self._ahead[n:]
            return got
        buffer = np.empty(n, dtype=np.uint8) if raw else bytearray(n)
        view = memoryview(buffer).cast("B")
        filled = min(n, self._ahead.nbytes)
        view[:filled], self._ahead = self._ahead[:filled], self._ahead[filled:]
        while filled < n:
            try:
                got = os.readv(self.read_fd, [view[filled:], self._spare])
            except BlockingIOError:
                self._wait(self.read_fd, deadline, write=False)
                continue
            except ConnectionResetError:
                got = 0
            if not got:
                raise ChannelClosed("the other side closed the channel")
            if got > n - filled:  # the rest went to the spare buffer: keep a copy for the next read
                self._ahead = memoryview(bytes(self._spare[: got - (n - filled)]))
            filled = min(n, filled + got)
        return buffer

    @staticmethod
    def _wait(fd: int, deadline: float | None, *, write: bool) -> None:
        """Until `fd` is ready (a ChannelTimeout once `deadline` passes; no deadline waits for good)."""
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            raise ChannelTimeout("deadline passed")
        ready = select.select([], [fd], [], remaining) if write else select.select([fd], [], [], remaining)
        if not (ready[1] if write else ready[0]):
            raise ChannelTimeout("deadline passed")


def _tune(fd: int) -> None:
    """Non-blocking (waits go through select, with their deadline), and a pipe of 1 MB, so a 10 MB
    array crosses in 10 hops, not 160. Either may be refused (a closed fd in a test, a capped pipe
    size): the channel works without them."""
    with contextlib.suppress(OSError, ValueError):
        os.set_blocking(fd, False)
    with contextlib.suppress(OSError):
        if stat.S_ISFIFO(os.fstat(fd).st_mode) and fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ) < PIPE_BYTES:
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
