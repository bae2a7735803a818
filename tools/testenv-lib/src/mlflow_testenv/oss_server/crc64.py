"""CRC-64/ECMA-182 as OSS reports it (x-oss-hash-crc64ecma, the CRC-64/XZ parameters), and combining
the CRCs of parts without reading the data again (zlib's crc32_combine method, for 64 bits).

The CRC comes from liblzma's `lzma_crc64` (the library CPython's own `lzma` module links), called
through ctypes: it is about 8x faster than crcmod's table loop (CLMUL where the CPU has it) and,
being a foreign call, releases the GIL, so parallel part uploads hash on several cores. crcmod's C
extension is the fallback; with neither the server omits the CRC header.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable
from functools import lru_cache

POLY_REVERSED = 0xC96C5795D7870F42
Buffer = bytes | bytearray | memoryview


def _load_lzma_crc64() -> Callable[[Buffer, int], int] | None:
    name = ctypes.util.find_library("lzma")
    try:
        fn = ctypes.CDLL(name or "liblzma.so.5").lzma_crc64
    except (OSError, AttributeError):
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

    if update(b"123456789", 0) != 0x995DC9BBDF1939FA:  # the CRC-64/XZ check value
        return None
    return update


_lzma_update = _load_lzma_crc64()


class LzmaCrc64:
    """Running CRC-64/XZ with crcmod's interface (`update`, `crcValue`)."""

    __slots__ = ("crcValue",)

    def __init__(self) -> None:
        self.crcValue = 0

    def update(self, data: Buffer) -> None:
        self.crcValue = _lzma_update(data, self.crcValue)  # type: ignore[misc]


try:  # crcmod (C extension) comes with oss2
    import crcmod
except ImportError:  # pragma: no cover
    crcmod = None


def new_crc() -> object | None:
    if _lzma_update is not None:
        return LzmaCrc64()
    if crcmod is not None:  # pragma: no cover - liblzma is part of every CPython build with lzma
        return crcmod.Crc(0x142F0E1EBA9EA3693, initCrc=0, rev=True, xorOut=0xFFFFFFFFFFFFFFFF)
    return None  # pragma: no cover


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


@lru_cache(maxsize=1)
def _zero_byte_powers() -> tuple[tuple[int, ...], ...]:
    """Operators that run the CRC register over 2**k zero bytes, k = 0..63."""
    one_bit = [POLY_REVERSED] + [1 << n for n in range(63)]
    op = _square(_square(_square(one_bit)))  # 8 zero bits
    powers = [op]
    for _ in range(63):
        op = _square(op)
        powers.append(op)
    return tuple(powers)


def combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC of A+B from crc(A), crc(B) and len(B)."""
    powers = _zero_byte_powers()
    k = 0
    while len2:
        if len2 & 1:
            crc1 = _times(powers[k], crc1)
        len2 >>= 1
        k += 1
    return crc1 ^ crc2
