"""JSON read from outside: request bodies of the API (common.api.parsers) and JSON typed as text in forms (a
config schema, a default config, a setting of a bot), read the same way everywhere.

json.loads alone is not enough for text a stranger wrote:
- nesting: 100,000 `[` raise RecursionError (a 500), and a structure just under Python's recursion limit parses
  but breaks the first recursive code that walks it (jsonschema, the renderer). MAX_JSON_DEPTH bounds it far below.
- lone surrogates: json.loads turns the escape "\\ud800" into a string that no UTF-8 database, page or log can
  encode (SQLite stored one, then three pages broke). A valid pair ("\\ud83d\\ude00") is joined into one character
  by the decoder, so any surrogate left in a parsed string or key is a lone one, refused.
- numbers JSON does not have: NaN and Infinity (accepted by json.loads, like 1e999 which reads as infinity), and
  integers over Python's 4,300 digits (a ValueError of its own) are refused too.
"""

import json
import math
import re
from typing import Any, NoReturn

from django import forms
from django.forms.fields import InvalidJSONInput, JSONString

# Levels of arrays/objects (a flat config object is 1, a schema with nested properties about 5). The validators and
# renderers recurse a few frames per level: 32 levels stay far below Python's recursion limit of 1000.
MAX_JSON_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonInputError(ValueError):
    """Text that is not acceptable JSON; the message says why, for the person who sent it."""


def _check(value: Any) -> None:
    """Raise JsonInputError if `value` nests deeper than MAX_JSON_DEPTH or holds a lone surrogate. Iterative: the
    check itself must not recurse."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise JsonInputError("The JSON holds an invalid character (a lone UTF-16 surrogate such as \\ud800).")
        elif isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise JsonInputError(f"The JSON is nested too deeply: at most {MAX_JSON_DEPTH} levels.")
            if isinstance(item, dict):
                stack.extend((key, depth) for key in item)
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)


def _no_constant(name: str) -> NoReturn:
    raise JsonInputError(f"Not valid JSON: {name} is not a JSON number.")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise JsonInputError(f"Not valid JSON: the number {text[:20]} is too large.")
    return number


def json_loads_bounded(text: str | bytes) -> Any:
    """The value in `text` (bytes are read as UTF-8). Raises JsonInputError, with a message for the sender, for
    invalid JSON or UTF-8, NaN/Infinity or a number too large, nesting deeper than MAX_JSON_DEPTH, or a lone
    surrogate in a string or a key."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise JsonInputError("The JSON is not valid UTF-8.") from None
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except json.JSONDecodeError as error:
        raise JsonInputError(f"Not valid JSON: {error.msg} (line {error.lineno}, column {error.colno}).") from None
    except RecursionError:
        raise JsonInputError(f"The JSON is nested too deeply: at most {MAX_JSON_DEPTH} levels.") from None
    except JsonInputError:
        raise
    except ValueError:  # an integer longer than Python reads (sys.get_int_max_str_digits)
        raise JsonInputError("Not valid JSON: a number is too long.") from None
    _check(value)
    return value


def json_object_parse(text: str) -> dict:
    """The object in `text`; empty text is {}. Raises ValueError (JsonInputError) with a message for the developer
    otherwise (see json_loads_bounded)."""
    if not text.strip():
        return {}
    parsed = json_loads_bounded(text)
    if not isinstance(parsed, dict):
        raise JsonInputError("Give a JSON object: {...}.")
    return parsed


class BoundedJSONFormField(forms.JSONField):
    """Django's forms.JSONField reading its text with json_loads_bounded: too deep, a lone surrogate or NaN is the
    field's error, not a 500 (Django's own catches JSONDecodeError only, and re-parses the text to redisplay it)."""

    def to_python(self, value: Any) -> Any:
        if self.disabled:
            return value
        if value in self.empty_values:
            return None
        if isinstance(value, list | dict | int | float | JSONString):
            return value
        try:
            converted = json_loads_bounded(value)
        except JsonInputError as error:
            raise forms.ValidationError(str(error), code="invalid") from None
        return JSONString(converted) if isinstance(converted, str) else converted

    def bound_data(self, data: Any, initial: Any) -> Any:
        if self.disabled:
            return initial
        if data is None:
            return None
        try:
            return json_loads_bounded(data)
        except JsonInputError:
            return InvalidJSONInput(data)
