"""The bot's, the execution and the risk settings as fields of one form, each config's fields built from its JSON
Schema (common.schema_forms). Subscriptions (the subscribe and edit-settings forms) and backtest runs (the form on
a bot's page) both ask for the three configs, so the form lives here, under both."""

from django import forms

from bots.models import Bot
from common.schema_forms import SEPARATOR, schema_fields, schema_values
from core.config_schemas import EXECUTION_CONFIG_SCHEMA, RISK_CONFIG_SCHEMA

# Form field prefix per config argument of the services.
SECTIONS = {"strategy_config": "strategy", "execution_config": "execution", "risk_config": "risk"}
SECTION_LABELS = {
    "strategy_config": "Bot settings",
    "execution_config": "Execution settings",
    "risk_config": "Risk settings",
}


class ConfigFieldsForm(forms.Form):
    """A form with the bot's, the execution and the risk settings as fields (see common.schema_forms)."""

    def __init__(self, *args, bot: Bot, values: dict[str, dict] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        values = values or {}
        self.schemas = {
            "strategy_config": bot.config_schema or {},
            "execution_config": EXECUTION_CONFIG_SCHEMA,
            "risk_config": RISK_CONFIG_SCHEMA,
        }
        self.field_groups: dict[str, list[str]] = {}
        for section, schema in self.schemas.items():
            fields = schema_fields(schema, prefix=SECTIONS[section], values=values.get(section))
            self.fields.update(fields)
            self.field_groups[section] = list(fields)

    def group(self, section: str) -> list:
        """The bound fields of one config, for the template."""
        return [self[name] for name in self.field_groups[section]]

    @property
    def strategy_fields(self):
        return self.group("strategy_config")

    @property
    def execution_fields(self):
        return self.group("execution_config")

    @property
    def risk_fields(self):
        return self.group("risk_config")

    def configs(self) -> dict[str, dict]:
        """{"strategy_config": {...}, "execution_config": {...}, "risk_config": {...}} from the cleaned data."""
        return {
            section: schema_values(schema, self.cleaned_data, prefix=SECTIONS[section])
            for section, schema in self.schemas.items()
        }

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        """Show a service's per-field messages (SubscriptionInvalid, BacktestRunInvalid) on the matching fields
        (`risk_config.stop_loss_percent` on `risk__stop_loss_percent`); messages about no field of this form go
        above it, saying what they are about."""
        for name, messages in errors.items():
            section, _, key = name.partition(".")
            target = f"{SECTIONS[section]}{SEPARATOR}{key}" if section in SECTIONS and key else name
            for message in messages:
                if target in self.fields:
                    self.add_error(target, message)
                elif section in SECTIONS:
                    self.add_error(None, f"{SECTION_LABELS[section]}{f' ({key})' if key else ''}: {message}")
                else:
                    self.add_error(None, message)
