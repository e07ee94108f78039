"""A JSON object typed as text (a config schema, a default config), read the same way by the developer portal's
form and by the API."""

import json


def json_object_parse(text: str) -> dict:
    """The object in `text`; empty text is {}. Raises ValueError with a message for the developer otherwise."""
    if not text.strip():
        return {}
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"Not valid JSON: {error.msg} (line {error.lineno}, column {error.colno}).") from None
    if not isinstance(parsed, dict):
        raise ValueError("Give a JSON object: {...}.")
    return parsed
