"""docs/partner-api.md's worked example, step by step through the API only: a partner registers a bot, stores an end
user's testnet key, subscribes the user for a rental window, the engine trades on the (fake) Binance testnet, and the
partner reads the trades and the performance back.

The only steps outside the partner API are the ones the document gives to others: staff grant partner access (the
admin), the partner makes its user API key (its account page), and the engine's scheduler ticks.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from partners.tests.conftest import ALICE_P, bot_key, user_key
from trading import clock
from trading.tests.conftest import START, fake_binance, run_tick  # noqa: F401 - fake_binance is a fixture

pytestmark = pytest.mark.django_db(transaction=True)

EXCHANGE_KEY = "aliceTestnetKey0123456789abcdefABCDEF0123456789abcdefABCDEF01"
EXCHANGE_SECRET = "aliceTestnetSecret0123456789abcdefABCDEF0123456789abcdefABCDEF"


def test_it_runs_the_worked_example(client, settings, acme, sma, fake_binance):  # noqa: F811
    partner_key = acme[1]
    fake_binance.add_account(EXCHANGE_KEY, EXCHANGE_SECRET, {"USDT": "10000"})
    # The engine's clock is moved through the shipped candles (May 2021); the API judges windows on it too.
    settings.ENGINE_CLOCK = "cache"
    clock.set_simulated_now(START - timedelta(minutes=30))

    # 1. Register the bot: the answer carries the registration's bot API key, once.
    response = client.post(
        reverse("api:marketplace-registration-list"),
        {"bot": "sma-crossover", "marketplace_name": "Acme SMA", "price_on_marketplace": "19.00"},
        content_type="application/json",
        **user_key(partner_key),
    )
    assert response.status_code == 201, response.content
    key = response.json()["bot_api_key"]

    # 2. Store the end user's Binance testnet key.
    response = client.put(
        reverse("api:marketplace-credential", args=[ALICE_P, "BINANCE", "testnet"]),
        {"api_key": EXCHANGE_KEY, "api_secret": EXCHANGE_SECRET},
        content_type="application/json",
        **bot_key(key),
    )
    assert response.status_code == 200, response.content
    assert response.json()["masked_key"] == "••••" + EXCHANGE_KEY[-4:]

    # 3. Subscribe the end user for a five-day rental window.
    response = client.post(
        reverse("api:marketplace-subscription-list", args=[ALICE_P]),
        {
            "instance_name": "Alice's SMA rental",
            "started_at": (START - timedelta(minutes=30)).isoformat(),
            "expires_at": (START + timedelta(days=5)).isoformat(),
            "exchange_type": "BINANCE",
            "network_type": "testnet",
            "trade_mode": "Spot",
            "trading_pair": "BTC/USDT",
            "timeframe": "1h",
            "strategy_config": {"fast": 5, "slow": 20},
            "execution_config": {"buy_order_type": "PERCENTAGE", "buy_order_value": 50},
            "risk_config": {"stop_loss_percent": 5, "take_profit_percent": 10},
        },
        content_type="application/json",
        **bot_key(key),
    )
    assert response.status_code == 201, response.content
    subscription = response.json()
    assert subscription["status"] == "ACTIVE" and subscription["principal"] == ALICE_P

    # 4. The engine trades: one scheduler tick per hour for five days (the window's end stops it).
    for hour in range(5 * 24 + 3):
        run_tick(START + timedelta(hours=hour), fake_binance)

    # 5. Read the trades, the performance and the subscription's totals back.
    base = [ALICE_P, subscription["id"]]
    trades = client.get(
        reverse("api:marketplace-subscription-trades", args=base) + "?page_size=100", **bot_key(key)
    ).json()
    performance = client.get(reverse("api:marketplace-subscription-performance", args=base), **bot_key(key)).json()
    detail = client.get(reverse("api:marketplace-subscription-detail", args=base), **bot_key(key)).json()

    closed = [trade for trade in trades["results"] if trade["status"] == "CLOSED"]
    assert len(closed) >= 2 and trades["count"] >= len(closed)
    assert all(trade["trading_pair"] == "BTC/USDT" and trade["exchange_order_id"] for trade in trades["results"])
    entry_times = [trade["entry_time"] for trade in trades["results"]]
    assert entry_times == sorted(entry_times, reverse=True)
    assert detail["total_trades"] == len(closed)
    assert Decimal(detail["total_pnl"]) == sum(Decimal(trade["pnl"]) for trade in closed)
    # One decision per hour of the window, HOLD included, newest first.
    assert performance["count"] == 5 * 24
    assert performance["results"][0]["timestamp"] > performance["results"][-1]["timestamp"]
    assert {row["action"] for row in performance["results"]} <= {"BUY", "SELL", "HOLD", "STOP_LOSS", "TAKE_PROFIT"}
    # The orders really went to the exchange, signed with the end user's key.
    assert len(fake_binance.orders(api_key=EXCHANGE_KEY)) >= 2 * len(closed)
