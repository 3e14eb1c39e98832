"""JSON for the cache-hit path without importing `json`.

`import json` pulls in `re`, `enum`, `functools` and `collections` (json.decoder compiles
regular expressions at import): about 9 ms, nearly half of what a cache hit may cost. The work
itself is done by CPython's C accelerator `_json` in both directions, so this module calls it
directly: the same scanner `json.loads` uses, and the same string escaper `json.dumps` uses
with `ensure_ascii=False`. Where `_json` is missing (other interpreters), the stdlib is used.
Tests compare both functions with the stdlib's answers.
"""

from __future__ import annotations

_WHITESPACE = " \t\n\r"
# Entry times beyond this are not times (year ~33,000): treated like NaN, as corrupt.
_HUGE = 1e12


def number(value: object) -> float | None:
    """A finite int or float from parsed JSON (not a bool, NaN or huge), else None."""
    if type(value) not in (int, float) or not -_HUGE < value < _HUGE:  # type: ignore[operator]
        return None  # NaN fails every comparison
    return value  # type: ignore[return-value]


def _no_constants(name: str) -> float:
    # NaN and Infinity are not JSON (Go's encoding/json refuses them too), and a NaN expiry
    # compares false with everything: an entry holding one would never expire.
    raise ValueError(f"{name} is not a JSON number")


class _DecoderSettings:
    """The attributes `_json.make_scanner` reads from a `json.JSONDecoder`, at their defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = staticmethod(_no_constants)  # strict: NaN, Infinity, -Infinity refused


try:
    from _json import encode_basestring as _encode_string
    from _json import make_scanner as _make_scanner
except ImportError:  # pragma: no cover - CPython always has the accelerator
    _scan = None
else:
    _scan = _make_scanner(_DecoderSettings())  # type: ignore[arg-type]  # duck-typed by _json


def loads(text: str) -> object:
    """`json.loads(text)` for a str, but strict (no NaN/Infinity) and bounded (a document
    nested past the recursion limit is refused): ValueError for anything but one JSON value."""
    if _scan is None:  # pragma: no cover
        import json

        try:
            return json.loads(text, parse_constant=_no_constants)
        except RecursionError as exc:
            raise ValueError("the JSON document is nested too deeply") from exc
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _scan(text, start)
    except StopIteration as exc:
        raise ValueError("not a JSON document") from exc
    except RecursionError as exc:
        raise ValueError("the JSON document is nested too deeply") from exc
    if text[end:].strip(_WHITESPACE):
        raise ValueError("extra data after the JSON document")
    return value


def quote(text: str) -> str:
    """A JSON string literal, as `json.dumps(text, ensure_ascii=False)` writes it."""
    if _scan is None:  # pragma: no cover
        import json

        return json.dumps(text, ensure_ascii=False)
    return str(_encode_string(text))
