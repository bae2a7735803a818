"""CRC-64/ECMA-182 as OSS reports it (x-oss-hash-crc64ecma), and combining the CRCs of parts
without reading the data again (zlib's crc32_combine method, for 64 bits)."""

from __future__ import annotations

from functools import lru_cache

POLY_REVERSED = 0xC96C5795D7870F42

try:  # crcmod (C extension) comes with oss2; without it the server omits the CRC header
    import crcmod

    def new_crc() -> object | None:
        return crcmod.Crc(0x142F0E1EBA9EA3693, initCrc=0, rev=True, xorOut=0xFFFFFFFFFFFFFFFF)
except ImportError:  # pragma: no cover
    def new_crc() -> object | None:
        return None


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
