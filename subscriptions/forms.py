"""The subscribe and edit-settings forms: market, mode and the three configs, each config's fields built from its
JSON Schema (bots.config_forms). The services validate everything again; `add_service_errors` puts their
per-field messages next to the matching fields."""

from django import forms

from accounts.models import Exchange
from accounts.networks import testnet_exchanges
from bots.config_forms import ConfigFieldsForm
from bots.models import Bot
from core import timeframes

MODE_CHOICES = [
    ("paper", "Paper: simulated orders on real prices, no exchange key needed"),
    ("testnet", "Testnet: real orders on the exchange's practice network"),
    ("mainnet", "Mainnet: real orders with real money"),
]


def _testnet_exchanges() -> str:
    """The exchanges that have a testnet, for the mode's label: the service refuses the others' testnet."""
    return ", ".join(Exchange(code).label for code in testnet_exchanges())


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
