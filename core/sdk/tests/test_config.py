import pytest

from bots.sdk import ConfigError, validate_config, validate_schema

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "fast": {"type": "integer", "minimum": 2, "maximum": 500, "default": 10},
        "slow": {"type": "integer", "minimum": 3, "maximum": 1000, "default": 30},
        "threshold": {"type": "number", "exclusiveMinimum": 0, "default": 0.5},
    },
    "additionalProperties": False,
}


def test_missing_settings_take_their_defaults():
    assert validate_config(SCHEMA, {"fast": 5}) == {"fast": 5, "slow": 30, "threshold": 0.5}
    assert validate_config(SCHEMA, None) == {"fast": 10, "slow": 30, "threshold": 0.5}


def test_it_does_not_modify_the_given_config():
    config = {"fast": 5}

    validate_config(SCHEMA, config)

    assert config == {"fast": 5}


def test_a_bad_type_is_reported_on_its_field():
    with pytest.raises(ConfigError) as caught:
        validate_config(SCHEMA, {"fast": "ten"})

    assert caught.value.errors == [{"field": "fast", "message": "'ten' is not of type 'integer'"}]


def test_out_of_range_values_are_reported_per_field():
    with pytest.raises(ConfigError) as caught:
        validate_config(SCHEMA, {"fast": 1, "slow": 5000, "threshold": 0})

    fields = {error["field"]: error["message"] for error in caught.value.errors}
    assert fields == {
        "fast": "1 is less than the minimum of 2",
        "slow": "5000 is greater than the maximum of 1000",
        "threshold": "0 is less than or equal to the minimum of 0",
    }


def test_a_bool_is_not_an_integer():
    with pytest.raises(ConfigError) as caught:
        validate_config(SCHEMA, {"fast": True})

    assert caught.value.errors[0]["field"] == "fast"


def test_unknown_settings_are_named():
    with pytest.raises(ConfigError) as caught:
        validate_config(SCHEMA, {"fastt": 3})

    assert caught.value.errors == [{"field": "fastt", "message": "unknown setting 'fastt'"}]


def test_a_missing_required_setting_without_default_is_named():
    schema = {"type": "object", "properties": {"pair": {"type": "string"}}, "required": ["pair"]}

    with pytest.raises(ConfigError) as caught:
        validate_config(schema, {})

    assert caught.value.errors[0]["field"] == "pair"


def test_a_config_that_is_not_an_object_is_refused():
    with pytest.raises(ConfigError) as caught:
        validate_config(SCHEMA, [1, 2])

    assert caught.value.errors[0]["field"] == ""


def test_validate_schema_accepts_a_good_schema():
    assert validate_schema(SCHEMA) is None


def test_validate_schema_wants_a_default_for_every_setting():
    schema = {"type": "object", "properties": {"fast": {"type": "integer"}}}

    with pytest.raises(ConfigError) as caught:
        validate_schema(schema)

    assert caught.value.errors == [{"field": "fast", "message": "every setting needs a default"}]


def test_validate_schema_checks_the_defaults_validate():
    schema = {"type": "object", "properties": {"fast": {"type": "integer", "minimum": 2, "default": 1}}}

    with pytest.raises(ConfigError) as caught:
        validate_schema(schema)

    assert caught.value.errors[0]["field"] == "fast"
    assert "default 1 is invalid" in caught.value.errors[0]["message"]


def test_validate_schema_checks_the_defaults_against_the_whole_schema():
    schema = {
        "type": "object",
        "properties": {"a": {"type": "integer", "default": 1}},
        "required": ["a", "b"],
    }

    with pytest.raises(ConfigError, match="defaults do not validate"):
        validate_schema(schema)


def test_validate_schema_refuses_an_invalid_json_schema():
    with pytest.raises(ConfigError, match="not a valid JSON Schema"):
        validate_schema({"type": "object", "properties": {"fast": {"type": "integr", "default": 1}}})


def test_validate_schema_wants_an_object_schema():
    with pytest.raises(ConfigError, match='"type": "object"'):
        validate_schema({"type": "array", "properties": {}})
