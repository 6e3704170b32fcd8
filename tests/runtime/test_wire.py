"""The wire format: what crosses between judge and runner, and what is refused."""

import io
import math
import os
import pickle
import struct
import threading
import time

import numpy as np
import pytest

from grader.runtime import wire


def roundtrip(value, **kwargs):
    tree, blobs = wire.encode(value, **kwargs)
    return wire.decode(tree, blobs)


def test_plain_values_roundtrip():
    value = {"a": [1, 2.5, None, True, "x"], 3: (1, (2, 3)), "nan": math.inf}
    assert roundtrip(value) == value


def test_arrays_keep_dtype_and_shape():
    for array in (np.arange(6, dtype=np.int32).reshape(2, 3), np.zeros((0, 4)), np.array(3.5),
                  np.ones((2, 2), dtype=np.float32).T, np.array([1 + 2j]), np.array(["ab", "c"])):
        got = roundtrip(array)
        assert type(got) is np.ndarray and got.dtype == array.dtype and got.shape == array.shape
        assert np.array_equal(got, array)


def test_ndarray_subclass_arrives_as_plain_ndarray():
    class Sneaky(np.ndarray):
        def __eq__(self, other):
            return True

    got = roundtrip(np.arange(3.0).view(Sneaky))
    assert type(got) is np.ndarray
    assert not np.array_equal(got, [9, 9, 9])


def test_numpy_scalars_stay_numpy_scalars():
    got = roundtrip(np.float32(1.5))
    assert isinstance(got, np.float32) and got == 1.5


def test_object_arrays_and_unknown_objects_are_refused():
    with pytest.raises(wire.WireError):
        wire.encode(np.array([object()], dtype=object))
    with pytest.raises(wire.WireError):
        wire.encode(object())


def test_a_pickle_inside_an_npy_blob_is_refused():
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(wire.WireError):
        wire.decode({"$a": 0}, [buf.getvalue()])


def test_raw_pickle_bytes_are_not_an_array():
    with pytest.raises(wire.WireError):
        wire.decode({"$a": 0}, [pickle.dumps([1, 2])])


def test_depth_and_malformed_trees_are_refused():
    deep = []
    for _ in range(wire.MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(wire.WireError):
        wire.encode(deep)
    for bad in ({"$a": 5}, {"$zz": 1}, {}, {"$d": [[1]]}, {"$h": 1}):
        with pytest.raises(wire.WireError):
            wire.decode(bad, [])


def test_integers_beyond_64_bits_are_refused_by_name():
    assert wire.decode(*wire.encode([2**63 - 1, -2**63, 2**64 - 1])) == [2**63 - 1, -2**63, 2**64 - 1]
    with pytest.raises(wire.WireError, match="an integer of 200001 bits"):
        wire.encode(2**200000)


def test_unknown_objects_become_handles_when_allowed():
    tree, _ = wire.encode([object()], on_object=lambda obj: {"$h": 7})
    assert wire.decode(tree, [], on_handle=lambda tag: ("handle", tag["$h"])) == [("handle", 7)]


def test_channel_roundtrip_and_frame_cap():
    r, w = os.pipe()
    channel = wire.Channel(r, w, max_frame_bytes=1 << 20)
    tree, blobs = wire.encode([np.arange(10)])
    channel.send({"value": tree}, blobs)
    message, got = channel.receive()
    assert np.array_equal(wire.decode(message["value"], got)[0], np.arange(10))
    small = wire.Channel(r, w, max_frame_bytes=100)
    tree, blobs = wire.encode([np.zeros(1000)])
    channel.send({"value": tree}, blobs)
    with pytest.raises(wire.WireError, match="larger than the limit"):
        small.receive()


def test_channel_deadline_and_close():
    import time

    r, w = os.pipe()
    channel = wire.Channel(r, w, max_frame_bytes=1 << 20)
    with pytest.raises(wire.ChannelTimeout):
        channel.receive(deadline=time.monotonic() + 0.05)
    os.close(w)
    with pytest.raises(wire.ChannelClosed):
        channel.receive(deadline=time.monotonic() + 1)


def test_nan_in_json_is_never_written():
    tree, _ = wire.encode([float("nan")])
    assert "NaN" not in b"".join(wire.pack({"v": tree}, [])).decode(errors="replace")


@pytest.mark.parametrize("value", [np.ones((4, 4)), np.arange(3, dtype=">i4"), np.float32(2.5), np.zeros((0, 5)),
                                   np.array(["ab", "c"]), np.asfortranarray(np.arange(6.0).reshape(3, 2)),
                                   np.arange(24).reshape(2, 3, 4)[:, ::2], np.ones((1,) * 32, dtype=np.bool_)])
def test_arrays_cross_as_npy_bytes_that_numpy_reads(value):
    """The grader writes its own `.npy` header (numpy's writer and parser cost a tenth of a millisecond
    each per array); what it writes is still a file numpy loads, and it reads numpy's own files."""
    (header, data), = wire.encode(value)[1]
    assert len(header) % 64 == 0
    loaded = np.load(io.BytesIO(header + data.tobytes()))
    assert loaded.dtype == np.asarray(value).dtype and np.array_equal(loaded, value)
    saved = io.BytesIO()
    np.save(saved, value)
    assert np.array_equal(wire._npy_array([np.frombuffer(saved.getvalue(), np.uint8)], 0), value)


def test_a_forged_header_in_the_fast_format_is_still_checked():
    header = wire._npy_header(np.dtype("<f8"), False, (1000,))
    with pytest.raises(wire.WireError, match="8 bytes of data for shape"):
        wire._npy_array([header + bytes(8)], 0)
    void = wire._npy_header(np.dtype("|V8"), False, (1,))
    with pytest.raises(wire.WireError, match="not accepted"):
        wire._npy_array([void + bytes(8)], 0)


def test_frames_that_arrive_together_are_read_one_at_a_time():
    """A read takes whatever else has arrived; what belongs to the next frame waits for it."""
    r, w = os.pipe()
    channel = wire.Channel(r, w, max_frame_bytes=1 << 22)
    for i in range(3):
        tree, blobs = wire.encode([np.full(i + 1, i), "x" * i])
        channel.send({"value": tree}, blobs)
    for i in range(3):
        message, blobs = channel.receive(deadline=time.monotonic() + 5)
        got = wire.decode(message["value"], blobs)
        assert np.array_equal(got[0], np.full(i + 1, i)) and got[1] == "x" * i
    with pytest.raises(wire.ChannelTimeout):
        channel.receive(deadline=time.monotonic() + 0.05)


def test_an_array_is_sent_from_its_own_memory():
    big = np.random.default_rng(0).random((500, 300))
    (_, data), = wire.encode(big)[1]
    assert np.shares_memory(data, big)
    r, w = os.pipe()
    reader, writer = wire.Channel(r, -1, max_frame_bytes=1 << 24), wire.Channel(-1, w, max_frame_bytes=1 << 24)
    got = []
    thread = threading.Thread(target=lambda: got.append(reader.receive(deadline=time.monotonic() + 10)))
    thread.start()
    tree, blobs = wire.encode({"w": big.T})  # F-ordered: its memory crosses as it is, with the header saying so
    writer.send({"value": tree}, blobs, deadline=time.monotonic() + 10)
    thread.join()
    message, received = got[0]
    assert np.array_equal(wire.decode(message["value"], received)["w"], big.T)


def test_a_frame_s_json_is_utf8_or_malformed_and_its_arrays_arrive_writable():
    """`pack` writes ASCII JSON; the reader decodes UTF-8 with one decoder per channel (json.loads
    would have guessed UTF-16 from the bytes). A small frame's parts are read from one read-ahead
    buffer, and its arrays still get memory of their own that a student's function may change."""
    r, w = os.pipe()
    channel = wire.Channel(r, w, max_frame_bytes=1 << 20)
    body = '{"value": 1}'.encode("utf-16")
    os.write(w, struct.pack(">II", len(body), 0) + body)
    with pytest.raises(wire.WireError, match="malformed frame"):
        channel.receive(deadline=time.monotonic() + 1)
    tree, blobs = wire.encode([np.arange(4.0), "é"])
    channel.send({"value": tree}, blobs)
    message, got = channel.receive(deadline=time.monotonic() + 1)
    array, text = wire.decode(message["value"], got)
    array += 1
    assert np.array_equal(array, np.arange(1.0, 5.0)) and text == "é"
