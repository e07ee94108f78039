"""Bot configuration: validate a user's config against the bot's JSON Schema (draft 2020-12) and fill defaults.

Every property of a bot's ``config_schema`` carries a ``default``, so a missing key is never an error:
it takes the default. Errors are collected per field, in a shape a form or an API can show next to
the field: ``[{"field": "fast", "message": "..."}]``; ``field`` is ``""`` for the config as a whole.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import SchemaError


class ConfigError(ValueError):
    """A config (or a config schema) is invalid. ``errors`` is a list of ``{"field", "message"}`` dicts."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{e['field'] or 'config'}: {e['message']}" for e in self.errors))


def _fill_defaults(validator_class):
    """Extend a validator class so that validating also writes each missing property's ``default``.

    The ``jsonschema`` FAQ recipe: defaults are written before the property is validated, so a default
    that is itself invalid is reported like any other bad value.
    """
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if isinstance(subschema, Mapping) and "default" in subschema:
                    instance.setdefault(name, copy.deepcopy(subschema["default"]))
        yield from validate_properties(validator, properties, instance, schema)

    return validators.extend(validator_class, {"properties": set_defaults})


_DefaultFillingValidator = _fill_defaults(Draft202012Validator)


def _error_field(error) -> list[tuple[str, str]]:
    """Name the field(s) an error is about: the failing property, or the missing/extra keys at the top level."""
    path = ".".join(str(part) for part in error.absolute_path)
    if error.validator == "required" and not path:
        # "required" fails on the parent object; the message names the missing key.
        missing = [name for name in error.validator_value if name not in (error.instance or {})]
        return [(name, error.message) for name in missing] or [("", error.message)]
    if error.validator == "additionalProperties" and not path and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(name for name in error.instance if name not in allowed)
        return [(name, f"unknown setting '{name}'") for name in extra] or [("", error.message)]
    return [(path, error.message)]


def validate_config(schema: dict, config: Mapping[str, Any] | None) -> dict:
    """Return a new config dict with defaults filled in, or raise ``ConfigError`` listing every bad field.

    ``config`` is not modified; ``None`` means "all defaults".
    """
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise ConfigError([{"field": "", "message": f"config must be a JSON object, got {type(config).__name__}"}])
    filled = copy.deepcopy(dict(config))
    validator = _DefaultFillingValidator(schema)
    errors = []
    for error in sorted(validator.iter_errors(filled), key=lambda e: [str(p) for p in e.absolute_path]):
        for field, message in _error_field(error):
            errors.append({"field": field, "message": message})
    if errors:
        raise ConfigError(errors)
    return filled


def validate_schema(schema: Any) -> None:
    """Check a bot's ``config_schema``; raise ``ConfigError`` naming each problem, return ``None`` when fine.

    The rules: it is a valid draft 2020-12 JSON Schema; it describes an object with ``properties``; every
    property has a ``default`` that validates against that property; and the all-defaults config
    validates against the whole schema (so ``required``/``minimum``/... cannot contradict the defaults).
    """
    if not isinstance(schema, Mapping):
        raise ConfigError([{"field": "", "message": "config_schema must be a JSON object"}])
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        where = "/".join(str(part) for part in error.absolute_path)
        raise ConfigError([{"field": where, "message": f"not a valid JSON Schema: {error.message}"}]) from None

    problems = []
    if schema.get("type") != "object":
        problems.append({"field": "", "message": 'config_schema must have "type": "object"'})
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        problems.append({"field": "", "message": 'config_schema must list its settings under "properties"'})
        properties = {}
    for name, subschema in properties.items():
        if not isinstance(subschema, Mapping) or "default" not in subschema:
            problems.append({"field": name, "message": "every setting needs a default"})
            continue
        for error in Draft202012Validator(subschema).iter_errors(subschema["default"]):
            problems.append({"field": name, "message": f"default {subschema['default']!r} is invalid: {error.message}"})
    if problems:
        raise ConfigError(problems)
    try:
        validate_config(schema, {})
    except ConfigError as error:
        raise ConfigError(
            [{"field": e["field"], "message": f"the defaults do not validate: {e['message']}"} for e in error.errors]
        ) from None
