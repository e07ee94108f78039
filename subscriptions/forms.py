"""The subscribe and edit-settings forms: market, mode and the three configs, each config's fields built from its
JSON Schema (subscriptions.schema_forms). The services validate everything again; `add_service_errors` puts their
per-field messages next to the matching fields."""

from django import forms

from accounts.models import Exchange
from accounts.networks import testnet_exchanges
from bots.models import Bot
from core import timeframes
from core.config_schemas import EXECUTION_CONFIG_SCHEMA, RISK_CONFIG_SCHEMA
from subscriptions.schema_forms import SEPARATOR, schema_fields, schema_values

# Form field prefix per config argument of the services.
SECTIONS = {"strategy_config": "strategy", "execution_config": "execution", "risk_config": "risk"}
SECTION_LABELS = {
    "strategy_config": "Bot settings",
    "execution_config": "Execution settings",
    "risk_config": "Risk settings",
}
MODE_CHOICES = [
    ("paper", "Paper: simulated orders on real prices, no exchange key needed"),
    ("testnet", "Testnet: real orders on the exchange's practice network"),
    ("mainnet", "Mainnet: real orders with real money"),
]


def _testnet_exchanges() -> str:
    """The exchanges that have a testnet, for the mode's label: the service refuses the others' testnet."""
    return ", ".join(Exchange(code).label for code in testnet_exchanges())


class ConfigFieldsForm(forms.Form):
    """A form with the bot's, the execution and the risk settings as fields (see subscriptions.schema_forms)."""

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
        """Show a SubscriptionInvalid's messages on the matching fields (`risk_config.stop_loss_percent` on
        `risk__stop_loss_percent`); messages about no field of this form go above it, saying what they are about."""
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


class SubscribeForm(ConfigFieldsForm):
    instance_name = forms.CharField(
        label="Name", max_length=255, help_text="How this subscription is called on your dashboard."
    )
    mode = forms.ChoiceField(label="Mode", choices=MODE_CHOICES, initial="paper", widget=forms.RadioSelect)
    exchange_type = forms.ChoiceField(label="Exchange", choices=Exchange.choices, initial=Exchange.BINANCE)
    trading_pair = forms.ChoiceField(label="Trading pair")
    timeframe = forms.ChoiceField(
        label="Timeframe",
        choices=[(t, t) for t in timeframes.SUPPORTED_TIMEFRAMES],
        initial="1h",
        help_text="The bot decides once per closed candle of this length.",
    )
    mainnet_confirmed = forms.BooleanField(
        label="I understand that this bot will place real orders with real money on my exchange account, and that "
        "I can lose money.",
        required=False,
    )
    trial = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, bot: Bot, markets: dict[str, list[str]], **kwargs) -> None:
        super().__init__(*args, bot=bot, **kwargs)
        self.fields["instance_name"].initial = bot.name
        pairs = sorted({pair for exchange_pairs in markets.values() for pair in exchange_pairs})
        self.fields["trading_pair"].choices = [(pair, pair) for pair in pairs]
        if "BTC/USDT" in pairs:
            self.fields["trading_pair"].initial = "BTC/USDT"
        if bot.price_per_month > 0 and bot.trial_days > 0:
            self.fields["trial"].label = f"Start with the free {bot.trial_days}-day trial"
        else:
            del self.fields["trial"]
        self.fields["mode"].choices = [
            (value, f"{label} ({_testnet_exchanges()} only)" if value == "testnet" else label)
            for value, label in MODE_CHOICES
        ]
        self.order_fields(["instance_name", "mode", "exchange_type", "trading_pair", "timeframe"])


class EditConfigForm(ConfigFieldsForm):
    instance_name = forms.CharField(label="Name", max_length=255)
