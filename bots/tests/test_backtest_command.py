import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from core.builtin import BUILTIN_BOTS

CANDLES = "data/candles/binance/BTC_USDT-1h.csv"


def _run(*args) -> dict:
    out = StringIO()
    call_command("backtest", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.parametrize("slug", sorted(BUILTIN_BOTS))
def test_it_prints_the_documented_statistics_for_every_built_in_bot(slug):
    result = _run("--bot", slug, "--candles", CANDLES)
    stats = result["stats"]
    for key in (
        "net_profit",
        "roi",
        "trades",
        "win_rate",
        "profit_factor",
        "avg_trade",
        "max_drawdown_pct",
        "max_drawdown_duration_ms",
        "sharpe",
        "sortino",
        "exposure",
    ):
        assert key in stats, key
    assert isinstance(stats["roi"], float) and stats["trades"] == len(result["trades"]) > 0
    trade = result["trades"][0]
    assert set(trade) >= {"entry_time_ms", "exit_time_ms", "entry_price", "exit_price", "quantity", "fee", "pnl"}
    assert isinstance(trade["entry_time_ms"], int)
    # The books balance: final balance = start + sum of trade P&L.
    total = sum(Decimal(t["pnl"]) for t in result["trades"])
    assert Decimal(stats["final_balance"]) == Decimal(stats["starting_balance"]) + total
    assert abs(stats["roi"] - float(total / Decimal("10000"))) < 1e-9


def test_it_applies_fee_slippage_and_config():
    cheap = _run("--bot", "sma-crossover", "--candles", CANDLES, "--fee", "0", "--config", '{"fast": 8, "slow": 21}')
    dear = _run(
        "--bot",
        "sma-crossover",
        "--candles",
        CANDLES,
        "--fee",
        "0.002",
        "--slippage",
        "0.001",
        "--config",
        '{"fast": 8, "slow": 21}',
    )
    assert cheap["stats"]["trades"] == dear["stats"]["trades"]
    assert Decimal(cheap["stats"]["net_profit"]) > Decimal(dear["stats"]["net_profit"])
    assert Decimal(cheap["trades"][0]["fee"]) == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--bot", "nope", "--candles", CANDLES], "Unknown bot"),
        (["--bot", "sma-crossover", "--candles", "missing.csv"], "No candle file"),
        (["--bot", "sma-crossover", "--candles", CANDLES, "--config", "{bad"], "not valid JSON"),
        (
            ["--bot", "sma-crossover", "--candles", CANDLES, "--config", '{"fast": 50, "slow": 10}'],
            "Invalid configuration",
        ),
        (["--bot", "sma-crossover", "--candles", CANDLES, "--fee", "-1"], "non-negative"),
    ],
)
def test_it_refuses_bad_arguments_clearly(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("backtest", *args, "--json", stdout=StringIO())
