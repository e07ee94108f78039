"""The API's JSON parser: DRF's, reading bodies with the one bounded reader (common.json_text.json_loads_bounded).

A body nested 100,000 deep, a lone surrogate in a key or a string, NaN or a number too large is a 400 in the
shared error shape (`{"error": {"code": "parse_error", ...}}`), never a 500 and never stored.
"""

from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from common.json_text import JsonInputError, json_loads_bounded


class BoundedJSONParser(JSONParser):
    """REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]'s JSON parser. Reads the whole body (at most
    DATA_UPLOAD_MAX_MEMORY_SIZE bytes: Django refuses more when it is read) and parses it bounded."""

    def parse(
        self, stream: IO[Any] | None, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read() if stream is not None else b""
        if limit is not None and len(raw) > limit:
            raise ParseError(f"The JSON body is too large: at most {limit} bytes.")
        try:
            return json_loads_bounded(raw)
        except JsonInputError as error:
            raise ParseError(str(error)) from None
