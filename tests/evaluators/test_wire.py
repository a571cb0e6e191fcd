"""The channel's wire format: plain data round-trips; anything else is a WireError, never another exception."""

from __future__ import annotations

import concurrent.futures
import json
import random
import socket
import struct

import numpy as np
import pytest

from evolve.evaluators.candidate import wire


def round_trip(value):
    ours, theirs = socket.socketpair()
    with ours, theirs, concurrent.futures.ThreadPoolExecutor(1) as pool:
        received = pool.submit(wire.receive, theirs, 1 << 30)
        wire.send(ours, value)
        return received.result(timeout=30)


def test_plain_data_round_trips_with_arrays_by_value():
    value = {"a": [1, 2.5, True, None, "x", [3, {"b": -1}]], "$tagged": 7, "arr": np.arange(6, dtype=np.int16).reshape(2, 3),
             "big": np.linspace(0, 1, 100_000), "empty": np.zeros((0, 4)), "flag": np.bool_(True), "n": np.float32(0.5)}
    back = round_trip(value)
    assert back["a"] == [1, 2.5, True, None, "x", [3, {"b": -1}]] and back["$tagged"] == 7
    assert back["arr"].dtype == np.int16 and back["arr"].tolist() == [[0, 1, 2], [3, 4, 5]]
    np.testing.assert_array_equal(back["big"], np.linspace(0, 1, 100_000))
    assert back["empty"].shape == (0, 4) and back["flag"] is True and back["n"] == 0.5
    assert round_trip((1, (2, 3))) == [1, [2, 3]]
    assert round_trip([float("nan")])[0] != round_trip([float("nan")])[0]


@pytest.mark.parametrize("value", [object(), {1: "non-string key"}, np.array(["text"]), np.array([1j]),
                                   np.array([object()]), [[[]]] * 0 + [set()]])
def test_what_is_not_plain_data_is_refused_when_sent(value):
    ours, theirs = socket.socketpair()
    with ours, theirs, pytest.raises(wire.WireError):
        wire.send(ours, value)


def frame(header: bytes, tail: bytes = b"") -> bytes:
    payload = struct.pack("!I", len(header)) + header + tail
    return payload


@pytest.mark.parametrize("payload", [
    frame(b"[" * 200_000),
    frame(b"{\"$array\": [0, \"<f8\", [10]]}", b"\0" * 8),
    frame(b"{\"$array\": [0, \"|O\", [1]]}", b"\0" * 8),
    frame(b"{\"$array\": [0, \"<f8\", [-1]]}"),
    frame(b"{\"$map\": [[1, 2]]}"),
    frame(b"{\"$evil\": 1}"),
    frame(json.dumps(json.loads("[" * 70 + "]" * 70)).encode()),
    b"\xff\xff",
])
def test_malformed_frames_are_wire_errors(payload):
    with pytest.raises(wire.WireError):
        wire.decode(bytearray(payload))


def test_random_garbage_only_ever_raises_wire_errors():
    rng = random.Random(7)
    seeds = [frame(b'{"a": [1, 2, {"$array": [0, "<i4", [2]]}]}', b"\1\0\0\0\2\0\0\0")]
    for _ in range(3000):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            wire.decode(data)
        except wire.WireError:
            pass


def test_a_reply_over_the_limit_is_refused_before_it_is_read():
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.sendall(struct.pack("!Q", 1 << 40))
        with pytest.raises(wire.WireError, match="over the limit"):
            wire.receive(theirs, 1 << 20)
