"""Django form fields from a JSON Schema's top-level properties, and the config back from the cleaned data.

Why not a library: the ones that exist (django-jsonform, django-json-widget...) edit one JSON blob with a
JavaScript widget, so errors come back for the blob, not per field, and the page does not work without JS. Bot
configs use a small, flat subset of JSON Schema (every property has a default; see core.sdk.config), which maps
one-to-one onto Django fields:

| schema | field |
|---|---|
| `enum` | a choice of its values (typed back to the schema's type) |
| `boolean` | a checkbox |
| `integer` | IntegerField with `minimum` / `maximum`; `exclusiveMinimum` / `exclusiveMaximum` as validators |
| `number` | FloatField, likewise (a whole number comes back as an int, so `100` stays `100` in the JSON) |
| `string` | CharField with `minLength` / `maxLength` / `pattern` |
| anything else | a JSON text field |
| `["<type>", "null"]` | the same, optional: left empty it is `null` |

`title` is the label, `description` the help text, `default` (or the current value) the initial value. These
fields only make the form pleasant; the service validates the collected config again against the schema (and the
bot's own cross-field rules), which stays the authority.
"""

import json
from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import escape

from common.json_text import BoundedJSONFormField
from core.sdk.config import PatternError, pattern_search

SEPARATOR = "__"


def field_name(prefix: str, key: str) -> str:
    return f"{prefix}{SEPARATOR}{key}"


def _types(spec: dict[str, Any]) -> tuple[str, bool]:
    """(the main type, nullable) of a property: `["number", "null"]` is ("number", True)."""
    declared = spec.get("type", "string")
    types = declared if isinstance(declared, list) else [declared]
    nullable = "null" in types
    main = next((t for t in types if t != "null"), "string")
    return main, nullable


def _pattern_validator(pattern: str) -> Callable[[Any], None]:
    """The schema's `pattern` as a field validator, on RE2 like the service's check (core.sdk.config): the pattern
    is the bot author's and must not backtrack on the server."""

    def matches(value: Any, pattern: str = pattern) -> None:
        if value in (None, ""):
            return
        try:
            matched = pattern_search(pattern, str(value))
        except PatternError as error:
            raise ValidationError(str(error)) from None
        if not matched:
            raise ValidationError("Enter a valid value.", code="invalid")

    return matches


def _bound_validators(spec: dict[str, Any]) -> list[Callable[..., None]]:
    validators: list[Callable[..., None]] = []
    if "exclusiveMinimum" in spec:
        low = spec["exclusiveMinimum"]

        def above(value: Any, low: Any = low) -> None:
            if value is not None and value <= low:
                raise ValidationError(f"Must be greater than {low}.")

        validators.append(above)
    if "exclusiveMaximum" in spec:
        high = spec["exclusiveMaximum"]

        def below(value: Any, high: Any = high) -> None:
            if value is not None and value >= high:
                raise ValidationError(f"Must be less than {high}.")

        validators.append(below)
    return validators


class WholeFloatField(forms.FloatField):
    """A FloatField that gives back an int for a whole number (JSON keeps `100`, not `100.0`)."""

    def to_python(self, value: Any) -> Any:
        number = super().to_python(value)
        return int(number) if number is not None and float(number).is_integer() else number


def _coerce_for(main: str) -> Callable[[Any], Any]:
    coercions: dict[str, Callable[[Any], Any]] = {
        "integer": int,
        "number": float,
        "boolean": lambda v: v in (True, "True", "true"),
    }
    return coercions.get(main, str)


def schema_field(spec: dict[str, Any], key: str, initial: Any) -> forms.Field:
    """One Django field for the property `key` described by `spec`."""
    main, nullable = _types(spec)
    description = spec.get("description")
    common: dict[str, Any] = {
        "label": str(spec.get("title") or key.replace("_", " ").capitalize()),
        # A developer writes the description and staff see it (the subscribe, backtest and settings forms): it is
        # escaped here, once, because Django's own form templates (as_p, as_div, the admin) print help_text with
        # |safe. escape() marks the result safe, so the autoescaping templates do not escape it twice.
        "help_text": escape(str(description)) if description not in (None, "") else "",
        "initial": initial,
        "required": not nullable and main != "boolean",
    }
    if "enum" in spec:
        choices = [(value, str(value)) for value in spec["enum"] if value is not None]
        if nullable:
            choices = [("", "—"), *choices]
        return forms.TypedChoiceField(choices=choices, coerce=_coerce_for(main), empty_value=None, **common)
    if main == "boolean":
        return forms.BooleanField(**common)
    if main in ("integer", "number"):
        bounds: dict[str, Any] = {"min_value": spec.get("minimum"), "max_value": spec.get("maximum")}
        validators = _bound_validators(spec)
        if main == "integer":
            return forms.IntegerField(validators=validators, **bounds, **common)
        field = WholeFloatField(validators=validators, **bounds, **common)
        field.widget.attrs["step"] = "any"
        return field
    if main == "string":
        validators = [_pattern_validator(spec["pattern"])] if isinstance(spec.get("pattern"), str) else []
        return forms.CharField(
            min_length=spec.get("minLength"),
            max_length=spec.get("maxLength"),
            validators=validators,
            empty_value=None if nullable else "",
            **common,
        )
    if initial is not None:
        common["initial"] = json.dumps(initial)
    return BoundedJSONFormField(**common)


def schema_fields(
    schema: dict[str, Any] | None, *, prefix: str, values: dict[str, Any] | None = None
) -> dict[str, forms.Field]:
    """Fields named `<prefix>__<property>` for each top-level property of `schema`, in the schema's order.

    The initial value is `values[property]` when given, else the property's `default`.
    """
    values = values or {}
    fields = {}
    for key, spec in ((schema or {}).get("properties") or {}).items():
        if not isinstance(spec, dict):
            continue
        fields[field_name(prefix, key)] = schema_field(spec, key, values.get(key, spec.get("default")))
    return fields


def schema_values(schema: dict[str, Any] | None, cleaned_data: dict[str, Any], *, prefix: str) -> dict[str, Any]:
    """The config collected back from a form's cleaned data: {property: value} for the schema's properties."""
    config = {}
    for key in (schema or {}).get("properties") or {}:
        name = field_name(prefix, key)
        if name in cleaned_data:
            config[key] = cleaned_data[name]
    return config
