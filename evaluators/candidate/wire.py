"""Plain data on a socket: the only things that cross between scorer and candidate.

A frame is a length, a JSON header and the raw bytes of any numpy arrays. Decoding
accepts None, bools, numbers, strings, lists, dicts with string keys and numeric or bool
arrays, and nothing else: no pickle, no object of the sender's choosing, so a hostile
candidate can hand the scorer only values it must then validate like any input. Every
malformed frame is a ``WireError``, never another exception.
"""

from __future__ import annotations

import json
import socket
import struct
from typing import Any

try:
    import numpy as np
except ImportError:  # a problem that does not allow numpy
    np = None  # type: ignore[assignment]

ARRAY_TAG = "$array"
MAP_TAG = "$map"
ARRAY_KINDS = frozenset("biuf")
MAX_DEPTH = 64
# Bound once, so a candidate that patches json in its own process does not break the channel by accident.
_dumps, _loads = json.dumps, json.loads
_SCALARS = frozenset((int, float, bool, str, type(None)))
_CONTAINERS = (list, dict)
_LENGTH = struct.Struct("!Q")
_HEADER = struct.Struct("!I")


class WireError(ValueError):
    """A frame that is not plain data, too large, or cut off."""


class _Encoder:
    def __init__(self) -> None:
        self.buffers: list[bytes] = []

    def value(self, item: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise WireError(f"data nested deeper than {MAX_DEPTH} levels")
        if item is None or isinstance(item, (bool, str)):
            return item
        if isinstance(item, (int, float)):
            return float(item) if isinstance(item, float) else int(item)
        if isinstance(item, (list, tuple)):
            if all(type(v) in _SCALARS for v in item):  # the common flat list: JSON takes it as it is
                return item
            return [self.value(v, depth + 1) for v in item]
        if isinstance(item, dict):
            return self._mapping(item, depth)
        if np is not None and isinstance(item, np.generic) and item.dtype.kind in ARRAY_KINDS:
            return item.item()
        if np is not None and isinstance(item, np.ndarray):
            return self._array(item)
        raise WireError(f"{type(item).__name__} is not plain data (use numbers, strings, lists, dicts, numpy arrays)")

    def _mapping(self, item: dict, depth: int) -> Any:
        if not all(isinstance(k, str) for k in item):
            raise WireError("dict keys must be strings")
        encoded = {k: self.value(v, depth + 1) for k, v in item.items()}
        if any(k.startswith("$") for k in item):
            return {MAP_TAG: [[k, v] for k, v in encoded.items()]}
        return encoded

    def _array(self, array: Any) -> Any:
        if array.dtype.kind not in ARRAY_KINDS:
            raise WireError(f"arrays must be bool, int or float, not {array.dtype}")
        data = np.ascontiguousarray(array)
        self.buffers.append(memoryview(data).cast("B") if data.size else b"")
        return {ARRAY_TAG: [len(self.buffers) - 1, data.dtype.str, list(data.shape)]}


def encode(item: Any) -> list[Any]:
    """One frame as buffers: length prefix, header, then each array's bytes (not copied)."""
    encoder = _Encoder()
    header = _dumps(encoder.value(item), allow_nan=True, separators=(",", ":")).encode()
    size = _HEADER.size + len(header) + sum(len(b) for b in encoder.buffers)
    return [_LENGTH.pack(size) + _HEADER.pack(len(header)) + header, *encoder.buffers]


class _Decoder:
    def __init__(self, payload: memoryview, offset: int) -> None:
        self.payload, self.offset = payload, offset

    def value(self, item: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise WireError(f"data nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, list):
            if all(type(v) not in _CONTAINERS for v in item):
                return item
            return [self.value(v, depth + 1) for v in item]
        if not isinstance(item, dict):
            return item
        if ARRAY_TAG in item and len(item) == 1:
            return self._array(item[ARRAY_TAG])
        if MAP_TAG in item and len(item) == 1:
            pairs = item[MAP_TAG]
            well_formed = isinstance(pairs, list) and all(
                isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in pairs)
            if not well_formed:
                raise WireError("malformed mapping")
            return {k: self.value(v, depth + 1) for k, v in pairs}
        if any(k.startswith("$") for k in item):
            raise WireError("unknown tag in a mapping")
        return {k: self.value(v, depth + 1) for k, v in item.items()}

    def _array(self, spec: Any) -> Any:
        if np is None:
            raise WireError("arrays need numpy, which this side does not have")
        if not (isinstance(spec, list) and len(spec) == 3 and isinstance(spec[1], str) and isinstance(spec[2], list)):
            raise WireError("malformed array")
        try:
            dtype = np.dtype(spec[1])
        except Exception:
            raise WireError(f"unknown array type {spec[1][:40]!r}") from None
        shape = spec[2]
        if dtype.kind not in ARRAY_KINDS or dtype.hasobject or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise WireError(f"arrays must be bool, int or float with a non-negative shape (got {spec[1]} {shape})")
        count = 1
        for n in shape:
            count *= n
        size = count * dtype.itemsize
        if self.offset + size > len(self.payload):
            raise WireError("an array's data is cut off")
        data = np.frombuffer(self.payload, dtype=dtype, count=count, offset=self.offset).reshape(shape)
        self.offset += size
        return data


def decode(payload: bytearray) -> Any:
    """The value of one payload; any malformation is a WireError. Arrays are views of ``payload``."""
    view = memoryview(payload)
    try:
        (length,) = _HEADER.unpack_from(view, 0)
        header = _loads(bytes(view[_HEADER.size:_HEADER.size + length]))
        return _Decoder(payload, _HEADER.size + length).value(header)
    except WireError:
        raise
    except Exception as exc:  # garbage can trip anything below (numpy parses dtype strings with ast): all of it is garbage
        raise WireError(f"malformed frame ({type(exc).__name__}: {str(exc)[:200]})") from None


def send(sock: socket.socket, item: Any) -> None:
    buffers = [memoryview(b) for b in encode(item)]
    while buffers:
        sent = sock.sendmsg(buffers)
        while buffers and sent >= len(buffers[0]):
            sent -= len(buffers[0])
            buffers.pop(0)
        if buffers and sent:
            buffers[0] = buffers[0][sent:]


def _read_exactly(sock: socket.socket, size: int) -> bytearray:
    buffer = bytearray(size)
    view, filled = memoryview(buffer), 0
    while filled < size:
        got = sock.recv_into(view[filled:], min(size - filled, 1 << 22))
        if not got:
            raise EOFError("the other side closed the channel")
        filled += got
    return buffer


def receive(sock: socket.socket, max_bytes: int) -> Any:
    """The next value; EOFError when the peer is gone, WireError when it sent too much or garbage."""
    (size,) = _LENGTH.unpack(_read_exactly(sock, _LENGTH.size))
    if size > max_bytes:
        raise WireError(f"a reply of {size} bytes is over the limit of {max_bytes}")
    return decode(_read_exactly(sock, size))
