"""``RegexReplace``/``StaticRegexReplace`` as TensorFlow computes them, with RE2.

TensorFlow compiles the pattern with RE2's default options and calls
``RE2::GlobalReplace`` (or ``RE2::Replace``) on the raw bytes. RE2 matches in time
linear in the text, so patterns that make a backtracking engine explode
(``(a|a)*c``, ``(a?){n}a{n}``, ``a*a*a*a*a*b``) cost nothing special here. The
``google-re2`` package binds the same library; the loop below is GlobalReplace's own
(an empty match right after the previous match is skipped by one UTF-8 character),
and the rewrite string follows ``RE2::Rewrite`` (``\\0``-``\\9`` and ``\\\\``; a group the
pattern lacks leaves the string unchanged; another escape ends the rewrite there, which
``Replace`` drops and ``GlobalReplace`` keeps, as TensorFlow shows).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

#: Longest pattern compiled: TensorFlow's own limit is RE2's program size, far above
#: anything a path needs; a longer one is reported, not compiled.
MAX_PATTERN = 4096

Replacer = Callable[[bytes], bytes]


@functools.cache
def _re2() -> Any:
    try:
        import re2
    except ImportError:  # pragma: no cover - a required dependency
        return None
    return re2


def _utf8_len(text: bytes, pos: int) -> int:
    """Bytes of the UTF-8 character at ``pos`` (1 for an invalid or truncated one), as
    RE2's ``fullrune``/``chartorune`` step over it."""
    lead = text[pos]
    if lead < 0x80:
        return 1
    if 0xC2 <= lead <= 0xDF:
        need = 2
    elif 0xE0 <= lead <= 0xEF:
        need = 3
    elif 0xF0 <= lead <= 0xF4:
        need = 4
    else:
        return 1
    if pos + need > len(text):
        return 1
    try:
        text[pos: pos + need].decode("utf-8")
    except UnicodeDecodeError:
        return 1
    return need


def max_submatch(rewrite: bytes) -> int:
    """``RE2::MaxSubmatch``: the highest group a rewrite string names."""
    best, i = 0, 0
    while i < len(rewrite):
        if rewrite[i] == 0x5C:
            i += 1
            if i < len(rewrite) and 0x30 <= rewrite[i] <= 0x39:
                best = max(best, rewrite[i] - 0x30)
        i += 1
    return best


def parse_rewrite(rewrite: bytes) -> tuple[list[bytes | int], bool]:
    """``RE2::Rewrite``'s pieces (literal bytes and group numbers), up to the first
    invalid escape, and whether there was none (Rewrite fails there, after appending
    what came before)."""
    pieces: list[bytes | int] = []
    literal = bytearray()
    i = 0
    valid = True
    while i < len(rewrite):
        ch = rewrite[i]
        if ch != 0x5C:  # backslash
            literal.append(ch)
            i += 1
            continue
        nxt = rewrite[i + 1] if i + 1 < len(rewrite) else -1
        if 0x30 <= nxt <= 0x39:
            if literal:
                pieces.append(bytes(literal))
                literal.clear()
            pieces.append(nxt - 0x30)
        elif nxt == 0x5C:
            literal.append(0x5C)
        else:
            valid = False
            break
        i += 2
    if literal:
        pieces.append(bytes(literal))
    return pieces, valid


def replacer(pattern: bytes, rewrite: bytes, global_: bool) -> Replacer | str:
    """A function computing the op on one string, or why it cannot be computed."""
    re2 = _re2()
    if re2 is None:
        return "regex replace not evaluated: the google-re2 package is not installed"
    if len(pattern) > MAX_PATTERN:
        return f"regex pattern longer than {MAX_PATTERN} bytes"
    options = re2.Options()
    options.log_errors = False
    try:
        rx = re2.compile(pattern, options)
    except re2.error as exc:
        return f"regex pattern RE2 rejects ({exc!s:.80}): the op fails at run time"
    if max_submatch(rewrite) > rx.groups:
        return lambda text: text  # Replace and GlobalReplace refuse and leave the string as it is
    pieces, valid = parse_rewrite(rewrite)

    def expand(match: Any) -> bytes:
        out = []
        for piece in pieces:
            if isinstance(piece, int):
                group = match.group(piece)
                out.append(group if group is not None else b"")
            else:
                out.append(piece)
        return b"".join(out)

    def apply(text: bytes) -> bytes:
        if not global_:
            m = rx.search(text)
            if m is None or not valid:  # Replace gives up when Rewrite fails
                return text
            return text[: m.start()] + expand(m) + text[m.end():]
        out: list[bytes] = []
        p, end, last_end, count = 0, len(text), -1, 0
        while p <= end:
            m = rx.search(text, p)
            if m is None:
                break
            start, stop = m.span()
            if p < start:
                out.append(text[p:start])
            if start == last_end and start == stop:
                # An empty match right after the previous match: step over one character.
                if p < end:
                    step = _utf8_len(text, p)
                    out.append(text[p: p + step])
                    p += step
                else:
                    p += 1
                continue
            out.append(expand(m))
            p = last_end = stop
            count += 1
        if count == 0:
            return text
        if p < end:
            out.append(text[p:])
        return b"".join(out)

    return apply
