"""Limit orders in the shared fill model and the simulated account (backtests and paper)."""

from dataclasses import dataclass
from decimal import Decimal

import pytest

from bots.sdk import Action, ConfigError, Decision
from core.backtest.account import EXPIRED, FILLED, RESTING, SimulatedAccount
from core.config_schemas import validate_trading_configs
from core.fill_model import BUY, SELL, limit_fill, limit_price
from core.trade_settings import ExecutionSettings, RiskSettings


@dataclass
class Bar:
    open: object
    high: object
    low: object


def test_a_limit_lies_the_offset_away_from_the_price_rounded_away_from_the_market():
    assert limit_price(BUY, Decimal("100"), Decimal("0.5")) == Decimal("99.500")
    assert limit_price(SELL, Decimal("100"), Decimal("0.5")) == Decimal("100.500")
    assert limit_price(BUY, Decimal("100.07"), Decimal("0.1"), Decimal("0.1")) == Decimal("99.9")
    assert limit_price(SELL, Decimal("100.07"), Decimal("0.1"), Decimal("0.1")) == Decimal("100.2")
    with pytest.raises(ValueError):
        limit_price(BUY, Decimal("100"), Decimal("-1"))


def test_a_limit_fills_at_its_own_price_only_when_the_candle_reaches_it():
    assert limit_fill(BUY, Decimal("99"), Bar(100, 101, 98.5)) == Decimal("99")
    assert limit_fill(BUY, Decimal("99"), Bar(100, 101, 99.01)) is None
    assert limit_fill(BUY, Decimal("99"), Bar(97, 98, 96)) == Decimal("99")  # a gap does not improve it
    assert limit_fill(SELL, Decimal("101"), Bar(100, 101, 99)) == Decimal("101")
    assert limit_fill(SELL, Decimal("101"), Bar(100, 100.99, 99)) is None


def _account(**execution):
    settings = ExecutionSettings.from_config({"order_type": "limit", **execution})
    return SimulatedAccount(Decimal("1000"), Decimal("0.001"), Decimal("0.01"), settings, RiskSettings())


def test_it_fills_a_limit_buy_without_slippage_and_charges_the_fee():
    account = _account(limit_offset_percent=1)
    result = account.execute(Decision(Action.BUY), Decimal("100"), 1, 1000, bar=Bar(100, 102, 98))
    assert result == FILLED and account.resting is None
    assert account.position.entry_price == Decimal("99")
    notional = account.position.quantity * Decimal("99")
    assert account.balance == Decimal("1000") - notional - notional * Decimal("0.001")


def test_it_cancels_an_unfilled_limit_after_its_expiry_and_wants_nothing_meanwhile():
    account = _account(limit_offset_percent=1, limit_expiry_candles=2)
    assert account.execute(Decision(Action.BUY), Decimal("100"), 1, 1000, bar=Bar(100, 101, 99.5)) == RESTING
    assert not account.wants(Action.BUY)
    assert account.execute(None, Decimal("100"), 2, 2000, bar=Bar(100, 101, 99.5)) == EXPIRED
    assert account.resting is None and account.position is None and account.balance == Decimal("1000")
    assert account.wants(Action.BUY)


def test_it_refuses_a_bad_limit_setting_with_one_message_per_field():
    with pytest.raises(ConfigError) as caught:
        validate_trading_configs({"order_type": "limit", "limit_offset_percent": 60, "limit_expiry_candles": 0}, None)
    assert {e["field"] for e in caught.value.errors} == {
        "execution_config.limit_offset_percent",
        "execution_config.limit_expiry_candles",
    }
