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
        self.buffers.append(data.tobytes())
        return {ARRAY_TAG: [len(self.buffers) - 1, data.dtype.str, list(data.shape)]}


def encode(item: Any) -> bytes:
    """One frame's payload (without its length prefix)."""
    encoder = _Encoder()
    header = _dumps(encoder.value(item), allow_nan=True, separators=(",", ":")).encode()
    return _HEADER.pack(len(header)) + header + b"".join(encoder.buffers)


class _Decoder:
    def __init__(self, payload: memoryview, offset: int) -> None:
        self.payload, self.offset = payload, offset

    def value(self, item: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise WireError(f"data nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, list):
            return [self.value(v, depth + 1) for v in item]
        if not isinstance(item, dict):
            return item
        if ARRAY_TAG in item and len(item) == 1:
            return self._array(item[ARRAY_TAG])
        if MAP_TAG in item and len(item) == 1:
            pairs = item[MAP_TAG]
            if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in pairs):
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
        except TypeError as exc:
            raise WireError(f"unknown array type {spec[1]!r}") from exc
        shape = spec[2]
        if dtype.kind not in ARRAY_KINDS or dtype.hasobject or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise WireError(f"arrays must be bool, int or float with a non-negative shape (got {spec[1]} {shape})")
        count = 1
        for n in shape:
            count *= n
        size = count * dtype.itemsize
        if self.offset + size > len(self.payload):
            raise WireError("an array's data is cut off")
        data = np.frombuffer(self.payload[self.offset:self.offset + size], dtype=dtype).reshape(shape).copy()
        self.offset += size
        return data


def decode(payload: bytes) -> Any:
    """The value of one payload; any malformation is a WireError."""
    view = memoryview(payload)
    try:
        (length,) = _HEADER.unpack_from(view, 0)
        header = _loads(bytes(view[_HEADER.size:_HEADER.size + length]))
        return _Decoder(view, _HEADER.size + length).value(header)
    except WireError:
        raise
    except (ValueError, TypeError, KeyError, struct.error, RecursionError, MemoryError, OverflowError) as exc:
        raise WireError(f"malformed frame ({type(exc).__name__}: {str(exc)[:200]})") from None


def send(sock: socket.socket, item: Any) -> None:
    payload = encode(item)
    sock.sendall(_LENGTH.pack(len(payload)) + payload)


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the channel")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def receive(sock: socket.socket, max_bytes: int) -> Any:
    """The next value; EOFError when the peer is gone, WireError when it sent too much or garbage."""
    (size,) = _LENGTH.unpack(_read_exactly(sock, _LENGTH.size))
    if size > max_bytes:
        raise WireError(f"a reply of {size} bytes is over the limit of {max_bytes}")
    return decode(_read_exactly(sock, size))
