"""Reading what the sandbox child writes: bounded, strict, and never trusting it (host side, no Django).

Everything on the child's stdout is written by code the bot controls (the bot can reach the protocol file, forge
lines, answer for the child). So each line is read within bounds before it is parsed, and each parsed answer is
checked against the schema of its kind before the host uses one field of it:

- a line is at most ``max_line_bytes(op, ...)`` long (a ``ping`` answer is tiny, a backtest's is large);
- JSON nests at most ``MAX_DEPTH`` levels (measured on the raw bytes first: ``json.loads`` would raise
  ``RecursionError`` on 100,000 levels, and a crafted line must never raise anything but a protocol error);
- numbers are finite (``NaN``, ``Infinity`` and ``1e999999`` are refused) and number literals are at most
  ``MAX_NUMBER_CHARS`` long;
- the answer envelope, the error object, the progress line, the ``load`` metadata and each ``decide`` entry have a
  fixed schema: known keys, known error kinds, the right types.

Every violation raises ``SandboxProtocolError`` with a message safe to show the bot's developer; nothing else
(no ``RecursionError``, ``TypeError``, ``KeyError``, ``OverflowError``) leaves this module.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any

import numpy as np

from core.sdk import Candles

from .errors import SandboxProtocolError

MAX_DEPTH = 32
MAX_NUMBER_CHARS = 40
# Per op, the longest answer line the host reads (the channel's output limit applies on top).
OP_MAX_LINE_BYTES = {"ping": 4 * 1024, "load": 1024 * 1024}
MAX_PROGRESS_LINE_BYTES = 256
ERROR_KINDS = frozenset({"bot", "config", "insufficient_candles", "request"})
# The kinds an op can really fail with (decide reports a bad config per subscription, inside its result); any
# other kind is forged. Ops not named here may fail with every kind.
OP_ERROR_KINDS = {
    "ping": frozenset({"request"}),
    "load": frozenset({"bot", "request"}),
    "decide": frozenset({"bot", "request"}),
    "bot_start": frozenset({"bot", "config", "request"}),
    "step": frozenset({"bot", "request"}),
    "populate": frozenset({"bot", "request"}),
    "rows": frozenset({"bot", "request"}),
}
MAX_ERROR_CHARS = 2_000
MAX_TRACEBACK_CHARS = 20_000
MAX_CONFIG_ERRORS = 200
MAX_CPU_S = 10.0**7

# load metadata
MAX_SLUG_CHARS = 100
MAX_NAME_CHARS = 200
MAX_DESCRIPTION_CHARS = 10_000
MAX_BOT_CLASS_CHARS = 300
MAX_STARTUP_CANDLES = 10_000  # 10,000 candles of warm-up: more than a 200-day average on hourly candles
MAX_CONFIG_SCHEMA_BYTES = 64 * 1024
MAX_CONFIG_SCHEMA_DEPTH = 16

ENVELOPE_KEYS = frozenset({"seq", "ok", "result", "error", "cpu_s"})
ERROR_KEYS = frozenset({"kind", "message", "traceback", "errors"})
LOAD_KEYS = frozenset({"slug", "name", "description", "startup_candles", "config_schema", "vectorized", "bot_class"})
DECIDE_OK_KEYS = frozenset({"id", "decision", "state"})
DECIDE_ERROR_KEYS = frozenset({"id", "error", "traceback", "config_errors"})

# An escape inside a JSON string (outside strings a backslash is no JSON, and the parser stops there).
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_NOT_STRUCTURE = bytes(byte for byte in range(256) if byte not in b'[]{}"')


def max_line_bytes(op: str, output_limit: int) -> int:
    """The longest answer line accepted for ``op``: its own bound, never more than the channel's output limit."""
    return min(OP_MAX_LINE_BYTES.get(op, output_limit), output_limit)


def nesting_depth(line: bytes) -> int:
    """How deep the brackets of ``line`` nest, outside JSON strings; measured without recursion.

    For any prefix a JSON parser accepts, this counts exactly the brackets it would descend into (strings are
    matched as JSON defines them), so a parse never goes deeper than this number."""
    if line.count(b"[") + line.count(b"{") <= 1:
        return 1 if b"[" in line or b"{" in line else 0
    # Without escapes, a string is a plain "..." pair; keep only quotes and brackets, and count the brackets that
    # lie outside strings (after an even number of quotes). Vectorised: a 16 MiB line takes a few milliseconds.
    structure = (_ESCAPE.sub(b"", line) if b"\\" in line else line).translate(None, _NOT_STRUCTURE)
    codes = np.frombuffer(structure, dtype=np.uint8)
    steps = np.zeros(len(codes), dtype=np.int64)
    steps[(codes == ord("[")) | (codes == ord("{"))] = 1
    steps[(codes == ord("]")) | (codes == ord("}"))] = -1
    steps[np.cumsum(codes == ord('"')) % 2 == 1] = 0
    return int(np.cumsum(steps).max())


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a finite number")


def _finite_float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"a number literal is longer than {MAX_NUMBER_CHARS} characters")
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text[:20]} is not a finite number")
    return number


def _bounded_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"a number literal is longer than {MAX_NUMBER_CHARS} characters")
    return int(text)


_decoder = json.JSONDecoder(parse_float=_finite_float, parse_int=_bounded_int, parse_constant=_refuse_constant)


def parse_line(line: bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of one line, within ``max_bytes`` and ``max_depth``. Raises ``SandboxProtocolError``."""
    if len(line) > max_bytes:
        raise SandboxProtocolError(f"the bot's process wrote a line of {len(line)} bytes; at most {max_bytes} here")
    # Nesting can never exceed the number of opening brackets: a short answer (a streamed decision) is done with two
    # counts in C instead of the vectorised scan, which costs more than the rest of its parse.
    brackets = line.count(b"[") + line.count(b"{")
    depth = brackets if brackets <= max_depth else nesting_depth(line)
    if depth > max_depth:
        raise SandboxProtocolError(f"the bot's process wrote JSON nested {depth} levels deep; at most {max_depth}")
    try:
        text = line.decode("utf-8")
        value, end = _decoder.raw_decode(text, _skip_space(text, 0))
        if _skip_space(text, end) != len(text):
            raise ValueError("extra data")
    except (ValueError, RecursionError):  # RecursionError: never expected after the depth check; never escapes
        shown = bytes(line[:80])
        raise SandboxProtocolError(f"the bot's process wrote something that is not JSON: {shown!r}") from None
    return value


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    return index


def envelope(message: Any, *, seq: int, op: str | None = None) -> dict:
    """Check an answer's envelope: ``{"seq", "ok": true, "result", "cpu_s"}`` or ``{"seq", "ok": false,
    "error", "cpu_s"}``. Returns it with ``error`` checked (see ``error_object``; its kind one that ``op`` can
    fail with) and ``cpu_s`` a float or None."""
    if not isinstance(message, dict) or type(message.get("seq")) is not int or message["seq"] != seq \
            or not isinstance(message.get("ok"), bool):
        raise SandboxProtocolError("the bot's process wrote an answer to another request (or not an answer)")
    unknown = set(message) - ENVELOPE_KEYS
    if unknown:
        raise SandboxProtocolError(f"the bot's process wrote an answer with unknown keys: {_names(unknown)}")
    cpu_s = message.get("cpu_s")
    if cpu_s is not None and (isinstance(cpu_s, bool) or not isinstance(cpu_s, (int, float))
                              or not 0 <= cpu_s <= MAX_CPU_S):
        raise SandboxProtocolError("the bot's process wrote an answer with a bad 'cpu_s'")
    checked = {"seq": seq, "ok": message["ok"], "cpu_s": None if cpu_s is None else float(cpu_s)}
    if message["ok"]:
        if "error" in message or "result" not in message:
            raise SandboxProtocolError("the bot's process wrote a successful answer without a result")
        checked["result"] = message["result"]
    else:
        if "result" in message:
            raise SandboxProtocolError("the bot's process wrote a failed answer with a result")
        checked["error"] = error_object(message.get("error"))
        kind = checked["error"]["kind"]
        if kind not in OP_ERROR_KINDS.get(op, ERROR_KINDS):
            raise SandboxProtocolError(
                f"the bot's process wrote an error of kind {kind!r}, which {op} never fails with"
            )
    return checked


def error_object(error: Any) -> dict:
    """``{"kind", "message", "traceback", "errors"}`` with a known kind and strings cut to their bounds."""
    if not isinstance(error, dict) or set(error) - ERROR_KEYS:
        raise SandboxProtocolError("the bot's process wrote an error that is not an error object")
    kind = error.get("kind")
    if kind not in ERROR_KINDS:
        raise SandboxProtocolError(f"the bot's process wrote an error of unknown kind {str(kind)[:40]!r}")
    message, tb = error.get("message", ""), error.get("traceback", "")
    if not isinstance(message, str) or not isinstance(tb, str):
        raise SandboxProtocolError("the bot's process wrote an error whose message is not text")
    return {
        "kind": kind,
        "message": message[:MAX_ERROR_CHARS],
        "traceback": tb[:MAX_TRACEBACK_CHARS],
        "errors": config_errors(error.get("errors") or []),
    }


def config_errors(errors: Any) -> list[dict[str, str]]:
    """A ``ConfigError``'s ``[{"field", "message"}]`` list, as the child sends it."""
    if not isinstance(errors, list) or len(errors) > MAX_CONFIG_ERRORS or not all(
        isinstance(e, dict) and set(e) == {"field", "message"}
        and isinstance(e["field"], str) and isinstance(e["message"], str) for e in errors
    ):
        raise SandboxProtocolError("the bot's process wrote config errors that are not a list of field errors")
    return [{"field": e["field"][:200], "message": e["message"][:MAX_ERROR_CHARS]} for e in errors]


def progress(line: bytes, *, seq: int) -> tuple[int, int] | None:
    """``(done, total)`` when ``line`` is a progress line of request ``seq`` (``{"seq", "progress": [done, total]}``
    with two integers, 0 <= done <= total <= 10**9); None when it is not one (it is then read as the answer)."""
    if len(line) > MAX_PROGRESS_LINE_BYTES or b'"progress"' not in line:
        return None
    try:
        message = parse_line(line, max_bytes=MAX_PROGRESS_LINE_BYTES, max_depth=2)
    except SandboxProtocolError:
        return None
    if not isinstance(message, dict) or set(message) != {"seq", "progress"} or type(message["seq"]) is not int \
            or message["seq"] != seq:
        return None
    numbers = message["progress"]
    if not (isinstance(numbers, list) and len(numbers) == 2 and all(type(n) is int for n in numbers)
            and 0 <= numbers[0] <= numbers[1] <= 10**9):
        return None
    return numbers[0], numbers[1]


def load_metadata(result: Any) -> dict:
    """The ``load`` result: exactly the keys of ``BotInfo``, each of its type and within its bound; the
    ``config_schema`` an object of at most ``MAX_CONFIG_SCHEMA_BYTES`` of JSON nested ``MAX_CONFIG_SCHEMA_DEPTH``
    deep at most."""
    if not isinstance(result, dict) or set(result) != LOAD_KEYS:
        raise SandboxProtocolError("the bot's process answered load with something that is not bot metadata")
    texts = {"slug": MAX_SLUG_CHARS, "name": MAX_NAME_CHARS, "description": MAX_DESCRIPTION_CHARS,
             "bot_class": MAX_BOT_CLASS_CHARS}
    for name, bound in texts.items():
        if not isinstance(result[name], str) or len(result[name]) > bound:
            raise SandboxProtocolError(f"the bot's process answered load with a bad '{name}' (text of {bound} at most)")
    startup = result["startup_candles"]
    if type(startup) is not int or not 0 <= startup <= MAX_STARTUP_CANDLES:
        raise SandboxProtocolError(
            f"the bot's process answered load with a bad 'startup_candles' (0 to {MAX_STARTUP_CANDLES})"
        )
    if type(result["vectorized"]) is not bool:
        raise SandboxProtocolError("the bot's process answered load with a bad 'vectorized'")
    schema = result["config_schema"]
    if not isinstance(schema, dict):
        raise SandboxProtocolError("the bot's process answered load with a bad 'config_schema'")
    size = len(json.dumps(schema, separators=(",", ":")))
    if size > MAX_CONFIG_SCHEMA_BYTES:
        raise SandboxProtocolError(
            f"the bot's config schema is {size} bytes of JSON; at most {MAX_CONFIG_SCHEMA_BYTES}"
        )
    if _depth(schema) > MAX_CONFIG_SCHEMA_DEPTH:
        raise SandboxProtocolError(f"the bot's config schema nests deeper than {MAX_CONFIG_SCHEMA_DEPTH} levels")
    return dict(result)


def decide_results(result: Any, count: int) -> list:
    """The ``decide`` result's list of entries, one per subscription sent (each checked by ``decide_entry``)."""
    results = result.get("results") if isinstance(result, dict) and set(result) == {"results"} else None
    if not isinstance(results, list) or len(results) != count:
        raise SandboxProtocolError("the bot's process answered decide with the wrong number of results")
    return results


def decide_entry(entry: Any) -> dict:
    """One subscription's ``decide`` entry: ``{"id", "decision", "state"}`` (the decision left to
    ``Decision.from_json``, the state an object) or ``{"id", "error", "traceback"?, "config_errors"?}`` (texts
    cut to their bounds). Raises ``SandboxProtocolError`` naming what is wrong."""
    if not isinstance(entry, dict) or "id" not in entry:
        raise SandboxProtocolError("the entry is not an object with an 'id'")
    if "error" in entry:
        unknown = set(entry) - DECIDE_ERROR_KEYS
        if unknown:
            raise SandboxProtocolError(f"the error entry has unknown keys: {_names(unknown)}")
        message, tb = entry["error"], entry.get("traceback") or ""
        if not isinstance(message, str) or not isinstance(tb, str):
            raise SandboxProtocolError("the error entry's message is not text")
        return {
            "id": entry["id"],
            "error": message[:MAX_ERROR_CHARS],
            "traceback": tb[:MAX_TRACEBACK_CHARS],
            "config_errors": config_errors(entry.get("config_errors") or []),
        }
    if set(entry) != DECIDE_OK_KEYS:
        raise SandboxProtocolError(f"the entry's keys are {_names(set(entry))}, not id, decision and state")
    if not isinstance(entry["state"], dict):
        raise SandboxProtocolError("the bot's state is not an object")
    return entry


def _depth(value: Any, level: int = 1) -> int:
    """Nesting depth of a parsed JSON value (already bounded by ``MAX_DEPTH``, so the recursion is too)."""
    if isinstance(value, dict):
        return max((_depth(item, level + 1) for item in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(item, level + 1) for item in value), default=level)
    return level - 1


def _names(keys: set) -> str:
    return ", ".join(sorted(str(key)[:40] for key in keys))[:200]


def candle_rows(candles: Candles | Iterable) -> list[list]:
    """Candles as JSON rows ``[open_time_ms, open, high, low, close, volume]`` (validated on the host first)."""
    if not isinstance(candles, Candles):
        candles = Candles.from_rows(candles)
    columns = (candles.time, candles.open, candles.high, candles.low, candles.close, candles.volume)
    return [list(row) for row in zip(*(column.tolist() for column in columns), strict=True)]
