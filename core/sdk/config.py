"""Bot configuration: validate a user's config against the bot's JSON Schema (draft 2020-12) and fill defaults.

Every property of a bot's ``config_schema`` carries a ``default``, so a missing key is never an error:
it takes the default. Errors are collected per field, in a shape a form or an API can show next to
the field: ``[{"field": "fast", "message": "..."}]``; ``field`` is ``""`` for the config as a whole.

Regular expressions in a schema (``pattern``, ``patternProperties``) are the bot author's, and they run on the
platform's servers: they are evaluated with RE2, in time linear in the text, never with Python's backtracking
``re`` (``(a+)+$`` against 30 ``a`` and a ``!`` took seconds there). A pattern RE2 cannot compile (lookaround,
backreferences) is refused by ``validate_schema`` with a message.
"""
from __future__ import annotations

import copy
import functools
from collections.abc import Iterator, Mapping
from typing import Any

import re2
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import SchemaError, ValidationError


class ConfigError(ValueError):
    """A config (or a config schema) is invalid. ``errors`` is a list of ``{"field", "message"}`` dicts."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{e['field'] or 'config'}: {e['message']}" for e in self.errors))


# --- Patterns: RE2 only -------------------------------------------------------------------------------------------

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is reported to its author, not printed on the server's stderr
# RE2 compiles in bounded memory (8 MB by default): a pattern that would need more is refused, not slow.
MAX_PATTERN_LENGTH = 1000


class PatternError(ValueError):
    """A schema pattern RE2 cannot evaluate (lookaround, backreferences, too long...); the message says why."""


@functools.lru_cache(maxsize=512)
def _compiled(pattern: str) -> Any:
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError(f"a pattern is at most {MAX_PATTERN_LENGTH} characters long")
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as error:
        reason = error.args[0].decode(errors="replace") if error.args and isinstance(error.args[0], bytes) else error
        raise PatternError(
            f"the pattern {pattern!r} is not supported: {reason} (patterns run on RE2: no lookaround, no "
            "backreferences)"
        ) from None


def pattern_search(pattern: str, text: str) -> bool:
    """Whether `pattern` matches somewhere in `text` (JSON Schema's unanchored ``pattern``), in linear time.
    Raises PatternError for a pattern RE2 cannot evaluate."""
    return _compiled(pattern).search(text) is not None


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "string"):
        return
    try:
        matched = pattern_search(pattern, instance)
    except PatternError as error:
        yield ValidationError(str(error))
        return
    if not matched:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, pattern_properties: Mapping[str, Any], instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pattern_properties.items():
        for key, value in instance.items():
            try:
                matched = pattern_search(pattern, key)
            except PatternError as error:
                yield ValidationError(str(error))
                return
            if matched:
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_keys(instance: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """jsonschema's find_additional_properties, with RE2 for the patternProperties."""
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    return [
        key
        for key in instance
        if key not in properties and not any(pattern_search(pattern, key) for pattern in patterns)
    ]


def _additional_properties(validator: Any, additional: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    try:
        extras = _additional_keys(instance, schema)
    except PatternError as error:
        yield ValidationError(str(error))
        return
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        listed = ", ".join(repr(extra) for extra in sorted(extras, key=str))
        verb = "was" if len(extras) == 1 else "were"
        yield ValidationError(f"Additional properties are not allowed ({listed} {verb} unexpected)")


def _has_keyword(schema: Any, keyword: str) -> bool:
    """Whether `keyword` is a key anywhere in `schema` (over-cautious: a property of that name counts too)."""
    if isinstance(schema, Mapping):
        return keyword in schema or any(_has_keyword(value, keyword) for value in schema.values())
    if isinstance(schema, list):
        return any(_has_keyword(value, keyword) for value in schema)
    return False


_unevaluated_properties = Draft202012Validator.VALIDATORS["unevaluatedProperties"]
UNEVALUATED_WITH_PATTERNS = "unevaluatedProperties cannot be combined with patternProperties: use additionalProperties"


def _unevaluated_properties_guarded(
    validator: Any, unevaluated: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    # jsonschema evaluates patternProperties with Python's re inside unevaluatedProperties: refuse the combination
    # (validate_schema refuses it at upload; this covers schemas stored before).
    if _has_keyword(validator.schema, "patternProperties"):
        yield ValidationError(UNEVALUATED_WITH_PATTERNS)
        return
    yield from _unevaluated_properties(validator, unevaluated, instance, schema)


# Draft 2020-12 with every user pattern on RE2. Validate user schemas with this class only.
SafeValidator = validators.extend(
    Draft202012Validator,
    {
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
        "unevaluatedProperties": _unevaluated_properties_guarded,
    },
)


def _schema_patterns(schema: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    """(location, pattern) for every `pattern` value and `patternProperties` key in a schema."""
    if isinstance(schema, Mapping):
        for key, value in schema.items():
            location = f"{where}/{key}" if where else str(key)
            if key == "pattern" and isinstance(value, str):
                yield location, value
            elif key == "patternProperties" and isinstance(value, Mapping):
                for pattern in value:
                    yield f"{location}/{pattern}", pattern
            yield from _schema_patterns(value, location)
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from _schema_patterns(value, f"{where}/{index}")


def _pattern_problems(schema: Mapping[str, Any]) -> list[dict[str, str]]:
    problems = []
    for location, pattern in _schema_patterns(schema):
        try:
            _compiled(pattern)
        except PatternError as error:
            problems.append({"field": location, "message": str(error)})
    if _has_keyword(schema, "patternProperties") and _has_keyword(schema, "unevaluatedProperties"):
        problems.append({"field": "", "message": UNEVALUATED_WITH_PATTERNS})
    return problems


def _fill_defaults(validator_class: Any) -> Any:
    """Extend a validator class so that validating also writes each missing property's ``default``.

    The ``jsonschema`` FAQ recipe: defaults are written before the property is validated, so a default
    that is itself invalid is reported like any other bad value.
    """
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator: Any, properties: Mapping[str, Any], instance: Any, schema: Any) -> Iterator[Any]:
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if isinstance(subschema, Mapping) and "default" in subschema:
                    instance.setdefault(name, copy.deepcopy(subschema["default"]))
        yield from validate_properties(validator, properties, instance, schema)

    return validators.extend(validator_class, {"properties": set_defaults})


_DefaultFillingValidator = _fill_defaults(SafeValidator)


def _error_field(error: ValidationError) -> list[tuple[str, str]]:
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


def validate_config(schema: Mapping[str, Any], config: Mapping[str, Any] | None) -> dict[str, Any]:
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
    pattern_problems = _pattern_problems(schema)
    if pattern_problems:
        raise ConfigError(pattern_problems)

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
        for default_error in SafeValidator(subschema).iter_errors(subschema["default"]):
            problems.append(
                {"field": name, "message": f"default {subschema['default']!r} is invalid: {default_error.message}"}
            )
    if problems:
        raise ConfigError(problems)
    try:
        validate_config(schema, {})
    except ConfigError as error:
        raise ConfigError(
            [{"field": e["field"], "message": f"the defaults do not validate: {e['message']}"} for e in error.errors]
        ) from None
