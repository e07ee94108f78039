"""Form fields from JSON Schema: types, bounds, labels, defaults, nullable values, and the config collected back."""

from django import forms

from common.schema_forms import schema_fields, schema_values
from core.builtin import SmaCrossover
from core.config_schemas import EXECUTION_CONFIG_SCHEMA, RISK_CONFIG_SCHEMA


def _form(schema, data=None, values=None):
    form = forms.Form(data)
    form.fields.update(schema_fields(schema, prefix="s", values=values))
    return form


def test_it_builds_labelled_bounded_fields_with_defaults():
    fields = schema_fields(SmaCrossover.config_schema, prefix="strategy")
    fast = fields["strategy__fast"]
    assert isinstance(fast, forms.IntegerField)
    assert (fast.label, fast.initial, fast.min_value, fast.max_value) == ("Fast period", 10, 2, 500)
    assert "must be less than the slow period" in fast.help_text
    assert schema_fields(SmaCrossover.config_schema, prefix="s", values={"fast": 7})["s__fast"].initial == 7


def test_it_maps_enums_nullable_numbers_and_exclusive_bounds():
    fields = schema_fields(EXECUTION_CONFIG_SCHEMA, prefix="e")
    assert isinstance(fields["e__order_type"], forms.TypedChoiceField)
    assert [value for value, _ in fields["e__order_type"].choices] == ["market", "limit"]
    assert not fields["e__sell_order_value"].required
    form = _form(
        EXECUTION_CONFIG_SCHEMA,
        {
            "s__buy_order_type": "PERCENTAGE",
            "s__buy_order_value": "0",
            "s__sell_order_type": "ALL",
            "s__order_type": "market",
            "s__slippage_percent": "9",
        },
    )
    assert not form.is_valid()
    assert form.errors["s__buy_order_value"] == ["Must be greater than 0."]
    assert "less than or equal to 5" in form.errors["s__slippage_percent"][0]


def test_it_collects_the_config_back_with_json_friendly_values():
    data = {
        "s__stop_loss_percent": "2.5",
        "s__take_profit_percent": "",
        "s__max_position_size": "100",
        "s__max_open_trades": "2",
    }
    form = _form(RISK_CONFIG_SCHEMA, data)
    assert form.is_valid(), form.errors
    assert schema_values(RISK_CONFIG_SCHEMA, form.cleaned_data, prefix="s") == {
        "stop_loss_percent": 2.5,
        "take_profit_percent": None,
        "max_position_size": 100,
        "max_open_trades": 2,
    }


def test_it_handles_booleans_strings_and_other_types():
    schema = {
        "type": "object",
        "properties": {
            "enabled": {"type": "boolean", "default": True},
            "label": {"type": "string", "maxLength": 5, "pattern": "^[a-z]+$", "default": "abc"},
            "weights": {"type": "array", "default": [1, 2]},
        },
    }
    form = _form(schema, {"s__label": "ABC", "s__weights": "[3]"})
    assert not form.is_valid()
    assert "s__label" in form.errors
    form = _form(schema, {"s__label": "xyz", "s__weights": "[3]"})
    assert form.is_valid(), form.errors
    assert schema_values(schema, form.cleaned_data, prefix="s") == {"enabled": False, "label": "xyz", "weights": [3]}
    assert schema_fields(None, prefix="s") == {}
