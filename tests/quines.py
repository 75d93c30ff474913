"""Compression quines, built in memory at test time: a zip file that contains itself, a
gzip file that decompresses to itself, and a .tar.gz whose only member is itself.

The construction is Russ Cox's ("Zip Files All The Way Down", 2010). A deflate stream is a
program of two instructions, ``Lit n`` (output the next n bytes of the program) and
``Rep n`` (output the last n bytes of output again). With a prefix ``P`` (the headers
before the compressed data) and a suffix ``S`` (the headers after it), the program::

    Lit(P+1) P Lit(P+1)         -> P Lit(P+1)
    Rep(P+1)                    -> P Lit(P+1)
    Lit(1) Rep(P+1)             -> Rep(P+1)
    Lit(1) Lit(1)               -> Lit(1)
    Lit(4) Rep(P+1) Lit(1) Lit(1) Lit(4)
    Rep(4)
    Lit(4) Rep(4) Lit(4) Rep(4) Lit(4)
    Rep(4)
    Lit(4) Rep(4) Lit(0) Lit(0) Lit(S+1)
    Rep(4)
    Lit(0)
    Lit(0)
    Lit(S+1) Rep(S+1) S         -> Rep(S+1) S
    Rep(S+1)                    -> Rep(S+1) S   (the final block)

outputs ``P + program + S``, i.e. the whole file. Counts are in units of one instruction;
every instruction is encoded in exactly :data:`UNIT` bytes (20 for the tar.gz) and starts
on a byte boundary:

* ``Lit n``: empty fixed-Huffman blocks (four of 10 bits for 10-byte units) and a
  stored-block header with LEN = n, so the n literal bytes follow byte-aligned;
* ``Rep n``: fixed-Huffman blocks holding length/distance copies (distance n) padded with
  empty fixed blocks, then an empty stored block, whose header realigns to a byte.

The CRC-32 stored in the headers must be the CRC of the whole file, which contains it.
CRC-32 is affine over GF(2) in the bits of its input and the CRC field's bits enter the
file at fixed places, so the fixed point is a 32x32 linear system, solved directly
(Cox brute-forced it).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

UNIT = 10

#: (first length, extra bits) of deflate length codes 257..285.
_LENGTHS = [(3, 0), (4, 0), (5, 0), (6, 0), (7, 0), (8, 0), (9, 0), (10, 0), (11, 1), (13, 1), (15, 1), (17, 1),
            (19, 2), (23, 2), (27, 2), (31, 2), (35, 3), (43, 3), (51, 3), (59, 3), (67, 4), (83, 4), (99, 4),
            (115, 4), (131, 5), (163, 5), (195, 5), (227, 5), (258, 0)]


class _Bits:
    def __init__(self) -> None:
        self.value = 0
        self.n = 0

    def put(self, value: int, count: int) -> None:  # LSB first (header fields, extra bits)
        self.value |= value << self.n
        self.n += count

    def code(self, code: int, count: int) -> None:  # Huffman codes go MSB first
        self.put(int(format(code, f"0{count}b")[::-1], 2), count)


def _length_code(n: int) -> tuple[int, int, int]:
    """(symbol, extra value, extra bits) of a copy length 3..258."""
    if n == 258:
        return 285, 0, 0
    for i, (base, extra) in enumerate(_LENGTHS[:-1]):
        if base <= n < base + (1 << extra):
            return 257 + i, n - base, extra
    raise ValueError(n)


def _dist_code(d: int) -> tuple[int, int, int]:
    if d <= 4:
        return d - 1, 0, 0
    code = 4
    while True:
        extra = code // 2 - 1
        base = ((2 + code % 2) << extra) + 1
        if base <= d < base + (1 << extra):
            return code, d - base, extra
        code += 1


def _literal_length_symbol(bits: _Bits, sym: int) -> None:
    if sym <= 143:
        bits.code(0x30 + sym, 8)
    elif sym <= 255:
        bits.code(0x190 + sym - 144, 9)
    elif sym <= 279:
        bits.code(sym - 256, 7)
    else:
        bits.code(0xC0 + sym - 280, 8)


def _copy_bits(length: int, dist: int) -> int:
    sym, _, extra = _length_code(length)
    return (8 if sym >= 280 else 7) + extra + 5 + _dist_code(dist)[2]


def _empty_fixed(bits: _Bits, final: bool = False) -> None:
    bits.put(1 if final else 0, 1)
    bits.put(1, 2)  # BTYPE 01: fixed Huffman
    bits.code(0, 7)  # end of block (256)


def lit(n: int, unit: int = UNIT) -> bytes:
    """``Lit n`` in ``unit`` bytes: empty fixed blocks, then a stored-block header (3 bits,
    padded to the byte) with LEN = n."""
    blocks = next(k for k in range(64) if -(-(10 * k + 3) // 8) == unit - 4)
    bits = _Bits()
    for _ in range(blocks):
        _empty_fixed(bits)
    return bits.value.to_bytes(unit - 4, "little") + struct.pack("<HH", n, n ^ 0xFFFF)


_CODE_LENGTHS = [base for base, _ in _LENGTHS]


def _splits(n: int) -> list[list[int]]:
    """Ways to copy n bytes in one to three copies of 3..258 bytes (bit counts depend only
    on each length's code, so three-way splits try the codes' first lengths)."""
    out = [[n]] if 3 <= n <= 258 else []
    out += [[a, n - a] for a in range(3, n - 2) if a <= 258 and n - a <= 258]
    out += [[a, b, n - a - b] for a in _CODE_LENGTHS for b in _CODE_LENGTHS if 3 <= n - a - b <= 258]
    return out


def rep(n: int, final: bool = False, unit: int = UNIT) -> bytes:
    """``Rep n`` in exactly ``unit`` bytes: copies of the last n bytes, empty fixed blocks
    to pad, and an (optionally final) empty stored block ending on the unit boundary."""
    room = (unit - 4) * 8 - 3  # the 3-bit stored header must end in the last byte before LEN
    for lengths in _splits(n):
        copy = sum(_copy_bits(length, n) for length in lengths)
        for blocks in range(1, room // 10 + 2):
            used = 10 * blocks + copy
            if room - 7 <= used <= room:  # stored header + padding end exactly on the byte boundary
                bits = _Bits()
                bits.put(0, 1)
                bits.put(1, 2)
                for length in lengths:
                    sym, value, extra = _length_code(length)
                    _literal_length_symbol(bits, sym)
                    bits.put(value, extra)
                    dsym, dvalue, dextra = _dist_code(n)
                    bits.code(dsym, 5)
                    bits.put(dvalue, dextra)
                bits.code(0, 7)
                for _ in range(blocks - 1):
                    _empty_fixed(bits)
                bits.put(1 if final else 0, 1)  # stored block header, then pad to the byte
                out = bits.value.to_bytes(unit - 4, "little") + struct.pack("<HH", 0, 0xFFFF)
                assert len(out) == unit
                return out
    raise ValueError(f"no {unit}-byte encoding of Rep({n})")


def quine_program(prefix: bytes, suffix: bytes, unit: int = UNIT) -> bytes:
    """The deflate stream that inflates to ``prefix + itself + suffix``."""
    p, s = len(prefix) + unit, len(suffix) + unit
    lp, rp, ls, rs = lit(p, unit), rep(p, unit=unit), lit(s, unit), rep(s, final=True, unit=unit)
    l0, l1, l4, r4 = lit(0, unit), lit(unit, unit), lit(4 * unit, unit), rep(4 * unit, unit=unit)
    return b"".join([
        lp, prefix, lp, rp,
        l1, rp,
        l1, l1,
        l4, rp, l1, l1, l4, r4,
        l4, r4, l4, r4, l4, r4,
        l4, r4, l0, l0, ls, r4,
        l0, l0,
        ls, rs, suffix, rs,
    ])


def _solve_crc(build: Callable[[int], bytes]) -> int | None:
    """The x with crc32(build(x)) == x, where build places x's bytes in fixed spots (and
    returns what the CRC covers)."""
    base = zlib.crc32(build(0))
    cols = [zlib.crc32(build(1 << i)) ^ base for i in range(32)]
    # Solve (M + I) x = base over GF(2); rows as bitmasks with the constant in bit 32.
    rows = []
    for r in range(32):
        mask = 0
        for c in range(32):
            if ((cols[c] >> r) & 1) ^ (r == c):
                mask |= 1 << c
        rows.append(mask | (((base >> r) & 1) << 32))
    pivots: list[int] = []
    for c in range(32):
        at = next((i for i in range(len(pivots), 32) if (rows[i] >> c) & 1), None)
        if at is None:
            continue
        k = len(pivots)
        rows[k], rows[at] = rows[at], rows[k]
        for i in range(32):
            if i != k and (rows[i] >> c) & 1:
                rows[i] ^= rows[k]
        pivots.append(c)
    if any(row == 1 << 32 for row in rows):
        return None  # inconsistent: the caller changes a free field and tries again
    x = 0
    for k, c in enumerate(pivots):
        if (rows[k] >> 32) & 1:
            x |= 1 << c
    return x


def zip_quine(name: str = "r.zip") -> bytes:
    """A zip archive whose single member ``name`` is the archive itself, byte for byte."""
    raw = name.encode()

    def build(crc: int, mtime: int) -> bytes:
        def headers(csize: int, usize: int) -> tuple[bytes, bytes]:
            local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, mtime, 0x21, crc, csize, usize,
                                len(raw), 0) + raw
            central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, mtime, 0x21, crc, csize,
                                  usize, len(raw), 0, 0, 0, 0, 0, 0) + raw
            eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local) + csize, 0)
            return local, central + eocd

        sizes = headers(0, 0)
        csize = len(quine_program(*sizes))
        usize = len(sizes[0]) + csize + len(sizes[1])
        local, tail = headers(csize, usize)
        return local + quine_program(local, tail) + tail

    for mtime in range(1000):
        crc = _solve_crc(lambda x, m=mtime: build(x, m))
        if crc is not None:
            return build(crc, mtime)
    raise AssertionError("no CRC fixed point found")


def gzip_quine(name: str = "q.gz") -> bytes:
    """A gzip file that decompresses to itself (header with a file name, CRC, size)."""
    raw = name.encode() + b"\x00"

    def build(crc: int, mtime: int) -> bytes:
        head = struct.pack("<BBBBIBB", 0x1F, 0x8B, 8, 0x08, mtime, 0, 3) + raw
        size = len(head) + len(quine_program(head, b"\x00" * 8)) + 8
        tail = struct.pack("<II", crc, size)
        return head + quine_program(head, tail) + tail

    for mtime in range(1000):
        crc = _solve_crc(lambda x, m=mtime: build(x, m))
        if crc is not None:
            return build(crc, mtime)
    raise AssertionError("no CRC fixed point found")


def tar_gz_quine(name: str = "r.tar.gz") -> bytes:
    """A .tar.gz whose tar holds one member ``name``: the .tar.gz itself. The deflate
    program's prefix is the tar header followed by the gzip header, its suffix the gzip
    trailer, so inflating gives ``tar header + this file`` (the CRC covers that). Rep of
    over 512 bytes needs three copies, hence 20-byte instructions."""
    import tarfile

    unit = 20
    head = struct.pack("<BBBBIBB", 0x1F, 0x8B, 8, 0, 0, 0, 3)

    def tar_header(size: int, mtime: int) -> bytes:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = size, mtime, 0o644
        return info.tobuf(format=tarfile.USTAR_FORMAT)

    def sizes() -> tuple[int, int]:
        """(file size, zero padding after it in the tar) with the member padded to 512."""
        for pad in range(512):
            size = len(head) + len(quine_program(tar_header(0, 0) + head, b"\x00" * (8 + pad), unit)) + 8
            if (size + pad) % 512 == 0:
                return size, pad
        raise AssertionError("no padding fits")

    size, pad = sizes()

    def build(crc: int, mtime: int) -> bytes:
        prefix = tar_header(size, mtime) + head
        tail = struct.pack("<II", crc, 512 + size + pad)
        return head + quine_program(prefix, tail + b"\x00" * pad, unit) + tail

    def inflated(crc: int, mtime: int) -> bytes:
        data = build(crc, mtime)
        return tar_header(len(data), mtime) + data + b"\x00" * pad

    for mtime in range(1000):
        crc = _solve_crc(lambda x, m=mtime: inflated(x, m))
        if crc is not None:
            return build(crc, mtime)
    raise AssertionError("no CRC fixed point found")
