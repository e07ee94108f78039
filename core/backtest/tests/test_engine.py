"""The engine on hand-built series: every number below is computed by hand in Decimal."""
import json
from decimal import ROUND_DOWN, Decimal

import pytest

from bots.sdk import Action, ConfigError, Decision, Size, SizeType
from core.backtest import InsufficientCandles, run_backtest
from core.fill_model import ExitReason

from .helpers import scripted, scripted_per_candle, six_candles

D = Decimal
STEP = D("0.00000001")
BUY, SELL = 1, -1


def test_it_fills_at_the_next_open_and_charges_fees_on_both_sides():
    candles = six_candles()

    result = run_backtest(scripted({1: BUY, 3: SELL}), candles)

    # BUY decided on candle 1 fills at candle 2's open (100). 100 % of 10000 must also pay the 0.1 % fee:
    # notional <= 10000 / 1.001 = 9990.00999000999..., quantity = 99.9000999000999... rounded down to 1e-8.
    quantity = D("99.90009990")
    entry_notional = D("9990.009990")      # 99.9000999 × 100
    entry_fee = D("9.990009990")           # × 0.001
    # SELL decided on candle 3 fills at candle 4's open (125).
    exit_notional = D("12487.51248750")    # 99.9000999 × 125
    exit_fee = D("12.48751248750")
    pnl = exit_notional - exit_fee - entry_notional - entry_fee
    assert pnl == D("2475.0249750225")
    (trade,) = result.trades
    assert trade.quantity == quantity
    assert trade.entry_price == D("100")
    assert trade.exit_price == D("125")
    assert trade.fee == entry_fee + exit_fee == D("22.4775224775")
    assert trade.pnl == pnl
    assert trade.pnl_pct == pytest.approx(float(pnl / (entry_notional + entry_fee)))
    assert (trade.entry_time_ms, trade.exit_time_ms) == (int(candles.time[2]), int(candles.time[4]))
    assert (trade.entry_index, trade.exit_index) == (2, 4)
    assert trade.exit_reason is ExitReason.SIGNAL
    # Equity: the 1e-8 left over plus the position marked at each close.
    leftover = D("10000") - entry_notional - entry_fee
    assert leftover == D("0.00000001")
    assert [point.equity for point in result.equity_curve] == [
        D("10000"),
        D("10000"),
        leftover + quantity * 110,
        leftover + quantity * 120,
        leftover + exit_notional - exit_fee,
        leftover + exit_notional - exit_fee,
    ]
    assert result.stats.final_balance == D("12475.0249750225")
    assert result.stats.net_profit == pnl
    assert result.stats.exposure == pytest.approx(2 / 6)


def test_slippage_moves_both_fills_against_the_trader():
    result = run_backtest(scripted({1: BUY, 3: SELL}), six_candles(), slippage_rate=D("0.01"), fee_rate=D("0"))

    (trade,) = result.trades
    quantity = (D("10000") / D("101")).quantize(STEP, rounding=ROUND_DOWN)
    assert quantity == D("99.00990099")
    assert trade.entry_price == D("101.00")
    assert trade.exit_price == D("123.75")
    assert trade.fee == 0
    assert trade.pnl == quantity * (D("123.75") - D("101"))


def test_a_position_still_open_at_the_end_closes_at_the_last_close():
    candles = six_candles()

    result = run_backtest(scripted({1: BUY}), candles)

    (trade,) = result.trades
    quantity = D("99.90009990")
    assert trade.exit_reason is ExitReason.END
    assert trade.exit_price == D("130")
    assert trade.exit_time_ms == int(candles.time[5])
    assert trade.exit_index == 5
    exit_fee = quantity * 130 * D("0.001")
    final = D("0.00000001") + quantity * 130 - exit_fee
    assert result.stats.final_balance == final
    # The last point is the balance after the exit fee, so the curve ends where the money ends.
    assert result.equity_curve[-1].equity == final
    assert result.stats.net_profit == trade.pnl


def test_a_decision_on_the_last_candle_is_dropped():
    assert run_backtest(scripted({5: BUY}), six_candles()).trades == []


def test_a_buy_while_holding_and_a_sell_while_flat_are_ignored():
    result = run_backtest(scripted({0: SELL, 1: BUY, 2: BUY, 3: SELL}), six_candles())

    assert [(t.entry_index, t.exit_index) for t in result.trades] == [(2, 4)]


def test_nothing_is_decided_during_the_warm_up():
    result = run_backtest(scripted({1: BUY, 3: SELL}, startup=2), six_candles())

    assert result.trades == []
    assert len(result.equity_curve) == 4  # the curve covers candles 2..5


# -- stop loss and take profit ---------------------------------------------------------------------------


def _protected(risk_config, *, highs, lows, opens=None, actions=None):
    candles = six_candles(
        opens=opens or [100, 100, 100, 98, 95, 95],
        highs=highs,
        lows=lows,
        closes=[100, 100, 98, 95, 95, 95],
    )
    return run_backtest(scripted(actions or {1: BUY}), candles, fee_rate=D("0"), risk_config=risk_config)


def test_the_stop_loss_fills_at_the_stop_price():
    result = _protected({"stop_loss_percent": 10}, highs=[100, 100, 105, 99, 96, 96], lows=[100, 100, 95, 85, 94, 94],
                        actions={1: BUY, 3: SELL})

    (trade,) = result.trades
    assert trade.exit_reason is ExitReason.STOP_LOSS
    assert trade.exit_price == D("90")
    assert trade.exit_index == 3
    assert trade.pnl == D("100") * (D("90") - D("100"))  # 100 units bought at 100 with no fee


def test_the_take_profit_fills_at_the_target_price():
    result = _protected({"take_profit_percent": "10"}, highs=[100, 100, 105, 115, 96, 96],
                        lows=[100, 100, 95, 95, 94, 94])

    (trade,) = result.trades
    assert (trade.exit_reason, trade.exit_price, trade.exit_index) == (ExitReason.TAKE_PROFIT, D("110"), 3)


def test_with_both_inside_one_candle_the_stop_loss_wins():
    result = _protected({"stop_loss_percent": 10, "take_profit_percent": 10}, highs=[100, 100, 105, 115, 96, 96],
                        lows=[100, 100, 95, 85, 94, 94])

    (trade,) = result.trades
    assert (trade.exit_reason, trade.exit_price) == (ExitReason.STOP_LOSS, D("90"))


def test_a_gap_through_the_stop_fills_at_the_open():
    result = _protected({"stop_loss_percent": 10}, opens=[100, 100, 100, 80, 95, 95],
                        highs=[100, 100, 105, 98, 96, 96], lows=[100, 100, 95, 78, 94, 94])

    (trade,) = result.trades
    assert (trade.exit_reason, trade.exit_price) == (ExitReason.STOP_LOSS, D("80"))


def test_the_entry_candle_itself_is_checked():
    result = _protected({"stop_loss_percent": 10}, highs=[100, 100, 105, 99, 96, 96], lows=[100, 100, 89, 94, 94, 94])

    (trade,) = result.trades
    assert (trade.entry_index, trade.exit_index, trade.exit_price) == (2, 2, D("90"))
    assert not result.equity_curve[2].in_position


def test_the_stop_uses_the_fill_price_with_slippage():
    candles = six_candles(highs=[100, 100, 105, 99, 96, 96], lows=[100, 100, 95, 85, 94, 94],
                          opens=[100, 100, 100, 98, 95, 95], closes=[100, 100, 98, 95, 95, 95])

    result = run_backtest(scripted({1: BUY}), candles, fee_rate=D("0"), slippage_rate=D("0.01"),
                          risk_config={"stop_loss_percent": 10})

    (trade,) = result.trades
    # Entry 101; stop 101 × 0.9 = 90.9; the stop is a market sell, so it slips too: 90.9 × 0.99.
    assert trade.exit_price == D("90.9") * D("0.99")


# -- sizing ------------------------------------------------------------------------------------------------


def test_a_usdt_amount_buys_that_notional_and_pays_the_fee_on_top():
    result = run_backtest(scripted({1: BUY}), six_candles(),
                          execution_config={"buy_order_type": "USDT_AMOUNT", "buy_order_value": "1000"})

    (trade,) = result.trades
    assert trade.quantity == D("10")
    assert result.equity_curve[2].equity == D("10000") - D("1000") - D("1") + 10 * D("110")


def test_max_position_size_caps_the_notional():
    result = run_backtest(scripted({1: BUY}), six_candles(), risk_config={"max_position_size": 500})

    assert result.trades[0].quantity == D("5")


def test_a_percentage_buys_that_share_of_the_free_balance():
    result = run_backtest(scripted({1: BUY}), six_candles(),
                          execution_config={"buy_order_type": "PERCENTAGE", "buy_order_value": 50})

    assert result.trades[0].quantity == D("50")


def test_a_percentage_sell_closes_part_of_the_position_with_its_share_of_the_entry_fee():
    result = run_backtest(
        scripted({1: BUY, 3: SELL}),
        six_candles(),
        execution_config={"buy_order_type": "USDT_AMOUNT", "buy_order_value": 1000,
                          "sell_order_type": "PERCENTAGE", "sell_order_value": 50},
    )

    first, rest = result.trades
    # 10 units at 100, entry fee 1. Half sold at 125 (fee 0.625) carries half the entry fee (0.5).
    assert (first.quantity, first.exit_price, first.exit_reason) == (D("5"), D("125"), ExitReason.SIGNAL)
    assert first.fee == D("0.5") + D("0.625")
    assert first.pnl == D("625") - D("0.625") - D("500") - D("0.5")
    # The other half is still open at the end and closes at the last close (130, fee 0.65).
    assert (rest.quantity, rest.exit_price, rest.exit_reason) == (D("5"), D("130"), ExitReason.END)
    assert rest.pnl == D("650") - D("0.65") - D("500") - D("0.5")
    assert result.stats.final_balance == D("10000") + first.pnl + rest.pnl


def test_the_bots_suggested_size_is_capped_by_the_execution_settings():
    decisions = {
        1: Decision(Action.BUY, Size(SizeType.PERCENTAGE, D("25"))),
        3: Decision(Action.SELL, Size(SizeType.QUANTITY, D("1000"))),  # more than held: sells everything
    }
    result = run_backtest(scripted_per_candle(decisions), six_candles(), fee_rate=D("0"))

    (trade,) = result.trades
    assert trade.quantity == D("25")
    assert trade.exit_reason is ExitReason.SIGNAL

    capped = run_backtest(scripted_per_candle(decisions), six_candles(), fee_rate=D("0"),
                          execution_config={"buy_order_type": "USDT_AMOUNT", "buy_order_value": 1000})
    assert capped.trades[0].quantity == D("10")


def test_a_partial_sell_smaller_than_one_lot_step_sells_the_rest():
    partial = {"buy_order_type": "USDT_AMOUNT", "buy_order_value": 300, "quantity_step": "1",
               "sell_order_type": "PERCENTAGE", "sell_order_value": 50}

    # 3 units: half is 1.5, rounded down to 1; half of the 2 left is 1; the last unit closes at the END.
    halves = run_backtest(scripted({1: BUY, 2: SELL, 3: SELL}), six_candles(), fee_rate=D("0"),
                          execution_config=partial)
    # 1 unit: half of it rounds down to nothing, so the whole (dust-sized) position is sold.
    dust = run_backtest(scripted({1: BUY, 2: SELL}), six_candles(), fee_rate=D("0"),
                        execution_config={**partial, "buy_order_value": 100})

    assert [(t.quantity, t.exit_reason) for t in halves.trades] == [
        (D("1"), ExitReason.SIGNAL), (D("1"), ExitReason.SIGNAL), (D("1"), ExitReason.END)
    ]
    assert [(t.quantity, t.exit_reason) for t in dust.trades] == [(D("1"), ExitReason.SIGNAL)]


def test_a_sell_size_in_quote_currency_is_divided_by_the_fill_price():
    decisions = {
        1: Decision(Action.BUY),
        3: Decision(Action.SELL, Size(SizeType.USDT_AMOUNT, D("2500"))),  # 2500 / 125 = 20 units
    }

    result = run_backtest(scripted_per_candle(decisions), six_candles(), fee_rate=D("0"))

    assert [(t.quantity, t.exit_reason) for t in result.trades] == [(D("20"), ExitReason.SIGNAL),
                                                                      (D("80"), ExitReason.END)]


def test_a_ready_bot_instance_can_be_backtested():
    bot = scripted({1: BUY, 3: SELL}).from_config({})

    assert len(run_backtest(bot, six_candles()).trades) == 1
    with pytest.raises(TypeError):
        run_backtest(bot, six_candles(), config={})


def test_a_balance_too_small_for_one_lot_step_places_no_order():
    result = run_backtest(scripted({1: BUY}), six_candles(), starting_balance=D("10"),
                          execution_config={"quantity_step": "1"})

    assert result.trades == []


# -- errors, progress, JSON --------------------------------------------------------------------------------


def test_too_few_candles_is_an_error():
    with pytest.raises(InsufficientCandles):
        run_backtest(scripted({}, startup=5), six_candles())


def test_execution_and_risk_settings_are_checked_per_field():
    with pytest.raises(ConfigError) as caught:
        run_backtest(scripted({}), six_candles(), execution_config={"buy_order_type": "ALL", "sell_order_type": "X"},
                     risk_config={"stop_loss_pct": 5, "take_profit_percent": "abc"})

    assert {error["field"] for error in caught.value.errors} == {
        "execution_config.buy_order_type",
        "execution_config.sell_order_type",
        "risk_config.stop_loss_pct",
        "risk_config.take_profit_percent",
    }


def test_the_bot_config_is_validated():
    with pytest.raises(ConfigError):
        run_backtest("sma-crossover", six_candles(), config={"fast": 40})


def test_progress_is_reported_up_to_the_total():
    calls = []

    run_backtest(scripted({1: BUY}), six_candles(), progress=lambda done, total: calls.append((done, total)))

    assert calls[-1] == (6, 6)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_to_json_uses_strings_for_amounts_and_numbers_for_ratios():
    result = run_backtest(scripted({1: BUY, 3: SELL}), six_candles())

    data = json.loads(json.dumps(result.to_json(), allow_nan=False))

    assert set(data) == {"stats", "trades", "equity_curve"}
    assert data["trades"][0] == {
        "entry_time_ms": int(six_candles().time[2]),
        "exit_time_ms": int(six_candles().time[4]),
        "entry_price": "100",
        "exit_price": "125",
        "quantity": "99.9000999",
        "fee": "22.4775224775",
        "pnl": "2475.0249750225",
        "pnl_pct": pytest.approx(0.2475024975),
        "exit_reason": "SIGNAL",
    }
    assert data["equity_curve"][0] == {"time_ms": int(six_candles().time[0]), "equity": "10000"}
    stats = data["stats"]
    assert stats["roi"] == pytest.approx(0.24750249750225)
    assert isinstance(stats["roi"], float)
    assert stats["net_profit"] == "2475.0249750225"
    assert stats["trades"] == 1 and stats["win_rate"] == 1.0
    assert stats["profit_factor"] is None  # no losing trade
