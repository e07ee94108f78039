import json
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.backtest import InsufficientCandles, run_backtest
from core.builtin import BUILTIN_BOTS
from core.sdk import Candles, ConfigError


def _decimal(name: str, text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise CommandError(f"--{name} must be a number, got {text!r}") from None
    if not value.is_finite() or value < 0:
        raise CommandError(f"--{name} must be a non-negative number, got {text!r}")
    return value


class Command(BaseCommand):
    help = (
        "Backtest a built-in bot on a candle file (CSV: timestamp_ms,open,high,low,close,volume) with the fill "
        "model of paper trading; see docs/statistics.md for every statistic."
    )

    def add_arguments(self, parser):
        parser.add_argument("--bot", required=True, help=f"bot slug: {', '.join(sorted(BUILTIN_BOTS))}")
        parser.add_argument("--candles", required=True, help="CSV file of candles")
        parser.add_argument("--config", default=None, help="the bot's config as JSON (defaults fill the rest)")
        parser.add_argument("--execution-config", default=None, help="execution settings as JSON")
        parser.add_argument("--risk-config", default=None, help="risk settings as JSON (stop loss, take profit)")
        parser.add_argument("--fee", default="0.001", help="fee rate per side, a fraction (default 0.001)")
        parser.add_argument("--slippage", default="0", help="slippage rate, a fraction (default 0)")
        parser.add_argument("--balance", default="10000", help="starting balance in the quote currency")
        parser.add_argument("--equity-curve", action="store_true", help="include the equity curve in the JSON")
        parser.add_argument("--json", action="store_true", help="print one JSON object (stats and trades)")

    def handle(self, *args, **options):
        if options["bot"] not in BUILTIN_BOTS:
            raise CommandError(f"Unknown bot {options['bot']!r}; built-in bots: {', '.join(sorted(BUILTIN_BOTS))}")
        path = Path(options["candles"])
        if not path.is_file():
            raise CommandError(f"No candle file at {path}")
        configs = {}
        for name in ("config", "execution_config", "risk_config"):
            text = options[name]
            try:
                configs[name] = json.loads(text) if text else None
            except json.JSONDecodeError as exc:
                raise CommandError(f"--{name.replace('_', '-')} is not valid JSON: {exc}") from None
        try:
            candles = Candles.from_csv(path)
            result = run_backtest(
                options["bot"],
                candles,
                config=configs["config"],
                execution_config=configs["execution_config"],
                risk_config=configs["risk_config"],
                fee_rate=_decimal("fee", options["fee"]),
                slippage_rate=_decimal("slippage", options["slippage"]),
                starting_balance=_decimal("balance", options["balance"]),
            )
        except ConfigError as exc:
            raise CommandError(f"Invalid configuration: {exc}") from None
        except (InsufficientCandles, ValueError) as exc:
            raise CommandError(str(exc)) from None
        payload = result.to_json()
        if not options["equity_curve"]:
            payload.pop("equity_curve", None)
        if options["json"]:
            self.stdout.write(json.dumps(payload))
            return
        stats = payload["stats"]
        self.stdout.write(
            f"{options['bot']} on {path.name}: {stats['trades']} trades, ROI {stats['roi']:.2%}, "
            f"win rate {(stats['win_rate'] or 0):.0%}, max drawdown {stats['max_drawdown_pct']:.2%}"
        )
