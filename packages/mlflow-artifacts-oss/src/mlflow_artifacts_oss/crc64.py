"""CRC-64/ECMA-182 as OSS checks it (`x-oss-hash-crc64ecma`; the CRC-64/XZ parameters).

oss2 computes it with crcmod's C table loop: about 300 MiB/s, holding the GIL, so parallel part
uploads hash one part at a time. liblzma (the library CPython's `lzma` module links) has the same
CRC, several times faster (CLMUL where the CPU has it), and a ctypes call releases the GIL. crcmod
(an oss2 dependency) is the fallback where liblzma cannot be loaded.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable
from functools import lru_cache

import crcmod

Buffer = bytes | bytearray | memoryview
POLY_REVERSED = 0xC96C5795D7870F42


def _load_lzma() -> Callable[[Buffer, int], int] | None:
    try:
        fn = ctypes.CDLL(ctypes.util.find_library("lzma") or "liblzma.so.5").lzma_crc64
    except (OSError, AttributeError):  # pragma: no cover - no liblzma on this system
        return None
    fn.restype = ctypes.c_uint64
    fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint64]

    def update(data: Buffer, crc: int) -> int:
        if isinstance(data, bytes):
            return fn(data, len(data), crc)
        view = memoryview(data).cast("B")
        if view.readonly:
            return fn(view.tobytes(), len(view), crc)
        return fn((ctypes.c_char * len(view)).from_buffer(view), len(view), crc)

    return update if update(b"123456789", 0) == 0x995DC9BBDF1939FA else None  # the CRC-64/XZ check value


_lzma_update = _load_lzma()
_crcmod_update = crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, rev=True, xorOut=0xFFFFFFFFFFFFFFFF)


def update(data: Buffer, crc: int = 0) -> int:
    """CRC of (the data `crc` was computed over) + `data`."""
    if _lzma_update is not None:
        return _lzma_update(data, crc)
    return _crcmod_update(bytes(data), crc)  # pragma: no cover


def backend() -> str:
    return "liblzma" if _lzma_update is not None else "crcmod"


def _times(mat: tuple[int, ...] | list[int], vec: int) -> int:
    out, i = 0, 0
    while vec:
        if vec & 1:
            out ^= mat[i]
        vec >>= 1
        i += 1
    return out


def _square(mat: tuple[int, ...] | list[int]) -> tuple[int, ...]:
    return tuple(_times(mat, mat[n]) for n in range(64))


@lru_cache(maxsize=64)
def _zeros_operator(k: int) -> tuple[int, ...]:
    """The GF(2) operator that runs the CRC register over 2**k zero bytes."""
    if k == 0:
        one_bit = [POLY_REVERSED] + [1 << n for n in range(63)]
        return _square(_square(_square(one_bit)))  # 8 zero bits
    return _square(_zeros_operator(k - 1))


def combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC of A+B from crc(A), crc(B) and len(B), without the data (operators are cached, unlike
    oss2's combine, which rebuilds them for every part: ~17 ms a part in pure Python)."""
    k = 0
    while len2:
        if len2 & 1:
            crc1 = _times(_zeros_operator(k), crc1)
        len2 >>= 1
        k += 1
    return crc1 ^ crc2
