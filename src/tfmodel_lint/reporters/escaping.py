"""Escaping for everything a report shows that comes from a model or a file name.

A node name, a constant, an archive member or a file name is attacker-controlled: raw,
it could end a line and print a fake finding, clear the terminal over a real one,
reorder text with bidirectional overrides, or (in a GitHub Actions log) run a workflow
command. And a file name need not be valid UTF-8: Python hands undecodable bytes over as
lone surrogates (``surrogateescape``), which no UTF-8 stream or JSON parser accepts.

* :func:`display` makes a string safe for a terminal or a log: C0 and C1 controls, DEL,
  bidirectional and other invisible format characters, line and paragraph separators and
  lone surrogates are written as backslash escapes (``\\n``, ``\\x1b``, ``\\u202e``; an
  undecodable byte as ``\\xNN``, as ``bytes.decode(errors="backslashreplace")`` does), and
  the legacy workflow-command marker ``##[`` as ``##\\x5b``. Printable text, backslashes
  included, is left as it is, so a display string is for reading, not lossless.
* :func:`json_text` only replaces lone surrogates (JSON escapes the controls itself);
  :func:`raw_bytes` and :func:`base64_of` give the original bytes of a file name;
  :func:`dumps` serializes a report as valid UTF-8 JSON whose text is also safe to print.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: C0 controls, DEL, C1 controls, Arabic letter mark, Mongolian vowel separator, zero-width
#: and directional marks, line/paragraph separators, bidirectional embeddings, overrides and
#: isolates, invisible operators, the byte order mark, interlinear annotations, surrogates
#: and tag characters.
_UNSAFE_CLASS = (
    "\x00-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb"
    "\ud800-\udfff\U000e0000-\U000e007f"
)
_UNSAFE = re.compile(f"[{_UNSAFE_CLASS}]|##\\[")
_SURROGATE = re.compile("[\ud800-\udfff]")
#: What JSON leaves raw (it escapes only C0, ``"`` and ``\\``) and a terminal or a GitHub
#: Actions log would act on; only ever inside a string in serialized JSON.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb"
                          "\U000e0000-\U000e007f]|##\\[")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _surrogate(o: int) -> str:
    # surrogateescape maps an undecodable byte 0xNN (>= 0x80) to U+DCNN
    return f"\\x{o - 0xDC00:02x}" if 0xDC80 <= o <= 0xDCFF else f"\\u{o:04x}"


def _escape(match: re.Match[str]) -> str:
    c = match.group()
    if c == "##[":
        return "##\\x5b"
    named = _NAMED.get(c)
    if named is not None:
        return named
    o = ord(c)
    if 0xD800 <= o <= 0xDFFF:
        return _surrogate(o)
    if o <= 0xFF:
        return f"\\x{o:02x}"
    if o <= 0xFFFF:
        return f"\\u{o:04x}"
    return f"\\U{o:08x}"


def display(text: str) -> str:
    """``text`` with everything that could act on a terminal or a CI log escaped."""
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_escape, text)


def display_line(text: str) -> str:
    """:func:`display`, and a leading ``::`` (a GitHub Actions workflow command when a
    line starts with it) written as ``\\x3a:``."""
    out = display(text)
    stripped = out.lstrip()
    if stripped.startswith("::"):
        cut = len(out) - len(stripped)
        out = out[:cut] + "\\x3a" + out[cut + 1:]
    return out


def has_undecodable(text: str) -> bool:
    """Whether ``text`` holds lone surrogates (a file name that is not valid UTF-8)."""
    return _SURROGATE.search(text) is not None


def json_text(text: str) -> str:
    """``text`` as a valid Unicode string: lone surrogates become ``\\xNN`` (an undecodable
    byte) or ``\\udNNN``; everything else is kept (JSON escapes controls itself)."""
    if _SURROGATE.search(text) is None:
        return text
    return _SURROGATE.sub(lambda m: _surrogate(ord(m.group())), text)


def raw_bytes(text: str) -> bytes:
    """The bytes a name was decoded from (``os.fsencode`` on POSIX)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that did not come from an undecodable byte
        return text.encode("utf-8", "surrogatepass")


def base64_of(text: str) -> str:
    import base64

    return base64.b64encode(raw_bytes(text)).decode("ascii")


def clean(value: Any) -> Any:
    """``value`` (a JSON document) with :func:`json_text` applied to every string and key."""
    if isinstance(value, str):
        return json_text(value)
    if isinstance(value, dict):
        return {json_text(k) if isinstance(k, str) else k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


def _json_escape(match: re.Match[str]) -> str:
    c = match.group()
    if c == "##[":
        return "##\\u005b"
    o = ord(c)
    if o > 0xFFFF:  # as a UTF-16 surrogate pair, as JSON requires
        o -= 0x10000
        return f"\\u{0xD800 + (o >> 10):04x}\\u{0xDC00 + (o & 0x3FF):04x}"
    return f"\\u{o:04x}"


def dumps(doc: Any, indent: int | None = 2) -> str:
    """JSON text for ``doc``: valid UTF-8 whatever the strings hold (lone surrogates
    replaced as :func:`json_text` does), and with the characters a terminal or a CI log
    would act on written as ``\\uNNNN`` escapes, which JSON reads back unchanged."""
    text = json.dumps(doc, indent=indent, ensure_ascii=False)
    if _SURROGATE.search(text) is not None:
        text = json.dumps(clean(doc), indent=indent, ensure_ascii=False)
    if _JSON_UNSAFE.search(text) is not None:
        text = _JSON_UNSAFE.sub(_json_escape, text)
    return text
