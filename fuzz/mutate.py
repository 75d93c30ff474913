"""A small seeded byte mutator: the pure-Python stand-in for libFuzzer's mutations, so the
harnesses run deterministically without atheris (``tests/test_fuzz_short.py``)."""

from __future__ import annotations

import random

INTERESTING = (b"\x00", b"\xff", b"\x7f", b"\x80", b"\x00\x00\x00\x00", b"\xff\xff\xff\xff",
               b"\xff\xff\xff\x7f", b"\x00\x00\x00\x80", b"\x01\x00\x00\x00", b"\x10\x00\x00\x00")
MAX_LEN = 1 << 20


def mutate(data: bytes, rng: random.Random, others: list[bytes]) -> bytes:
    """1 to 4 stacked mutations of ``data`` (bit flips, byte sets, inserts, deletions,
    duplications, truncation, interesting values, splicing with another seed)."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(9)
        n = len(buf)
        if op == 0 and n:
            i = rng.randrange(n)
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1 and n:
            buf[rng.randrange(n)] = rng.randrange(256)
        elif op == 2:
            i = rng.randint(0, n)
            buf[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif op == 3 and n > 1:
            i = rng.randrange(n)
            del buf[i:i + rng.randint(1, max(1, min(64, n - i)))]
        elif op == 4 and n:
            i = rng.randrange(n)
            j = min(n, i + rng.randint(1, 64))
            k = rng.randint(0, n)
            buf[k:k] = buf[i:j]
        elif op == 5 and n:
            del buf[rng.randint(0, n - 1):]
        elif op == 6 and n:
            value = rng.choice(INTERESTING)
            i = rng.randrange(n)
            buf[i:i + len(value)] = value
        elif op == 7 and others:
            other = rng.choice(others)
            if other:
                i, j = rng.randint(0, n), rng.randrange(len(other))
                buf = buf[:i] + bytearray(other[j:j + rng.randint(1, 256)]) + buf[i:]
        elif op == 8 and n >= 4:
            # Nudge a little-endian 32-bit integer (offsets, lengths, counts).
            i = rng.randrange(n - 3)
            v = int.from_bytes(buf[i:i + 4], "little")
            v = (v + rng.choice((-1, 1, 4, -4, 256, 1 << 16, 1 << 30))) & 0xFFFFFFFF
            buf[i:i + 4] = v.to_bytes(4, "little")
    return bytes(buf[:MAX_LEN])
