"""The backtest form on a bot's page (its review form and the catalog's filters are the catalog app's)."""

from decimal import Decimal

from django import forms

from bots.backtest_runs.services import MIN_CANDLES
from bots.config_forms import ConfigFieldsForm


class BacktestRunForm(ConfigFieldsForm):
    """A backtest on a bot's page: market and timeframe (a shipped candle file), how many candles, money settings
    and the three configs (fields from their schemas, as on the subscribe form). The service validates again."""

    market = forms.ChoiceField(label="Market and timeframe")
    candle_count = forms.IntegerField(
        label="Candles",
        min_value=MIN_CANDLES,
        initial=1500,
        help_text="The most recent candles of the file; the bot's warm-up comes out of them.",
    )
    starting_balance = forms.DecimalField(
        label="Starting balance (quote currency)", initial=Decimal("10000"), min_value=Decimal("10"), decimal_places=2
    )
    fee_percent = forms.DecimalField(
        label="Fee per side, %", initial=Decimal("0.1"), min_value=0, max_value=5, decimal_places=4
    )
    # Slippage is one of the execution settings (execution__slippage_percent), as for a subscription.

    # The service names the fee as a fraction; the form asks for a percent.
    SERVICE_FIELDS = {"fee_rate": "fee_percent"}

    def __init__(self, *args, bot, markets, **kwargs) -> None:
        super().__init__(*args, bot=bot, **kwargs)
        self.markets = {market.key: market for market in markets}
        self.fields["market"].choices = [(market.key, market.label) for market in markets]
        if "BINANCE:BTC/USDT:1h" in self.markets:
            self.fields["market"].initial = "BINANCE:BTC/USDT:1h"
        self.order_fields(["market", "candle_count", "starting_balance", "fee_percent"])

    def service_arguments(self) -> dict:
        """The keyword arguments of bots.backtest_runs.services.backtest_run_create, from the cleaned data."""
        data = self.cleaned_data
        market = self.markets[data["market"]]
        return {
            "exchange": market.exchange,
            "symbol": market.symbol,
            "timeframe": market.timeframe,
            "candle_count": data["candle_count"],
            "starting_balance": data["starting_balance"],
            "fee_rate": data["fee_percent"] / 100,
            **self.configs(),
        }

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        super().add_service_errors({self.SERVICE_FIELDS.get(name, name): messages for name, messages in errors.items()})
