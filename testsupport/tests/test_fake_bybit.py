"""The fake Bybit server, exercised only through the real ``ccxt.bybit`` class (no mocks).

Run: ``cd /work/main && .venv/bin/python -m pytest testsupport/tests -q``
"""

from __future__ import annotations

from decimal import Decimal

import ccxt
import pytest

from testsupport.fake_exchange import PROJECT_CANDLE_DIR, FakeBybit, make_bybit_client
from testsupport.fake_exchange.candles import CandleSeries

KEY, SECRET = "bybit-key", "bybit-secret"
BTC_1H = CandleSeries.from_csv(PROJECT_CANDLE_DIR / "BTC_USDT-1h.csv", "1h").candles
K = 102  # candles 100..111 are contiguous


@pytest.fixture
def fake():
    with FakeBybit.start() as server:
        server.load_project_candles("BTC/USDT", "1h")
        server.add_account(KEY, SECRET, {"USDT": "10000", "BTC": "1"})
        server.set_time(BTC_1H[K].open_time)
        yield server
        assert server.internal_errors == []


def client(fake: FakeBybit, secret: str = SECRET, **options) -> ccxt.bybit:
    return make_bybit_client(fake.base_url, KEY, secret, **{"timeout": 1000, "rateLimit": 5, **options})


def test_it_loads_spot_markets_with_the_filters(fake):
    markets = client(fake).load_markets()

    btc = markets["BTC/USDT"]
    assert btc["spot"] and btc["id"] == "BTCUSDT"
    assert btc["precision"]["amount"] == 0.00001 and btc["precision"]["price"] == 0.01
    assert btc["limits"]["amount"]["min"] == 0.00001 and btc["limits"]["cost"]["min"] == 5
    # spot instruments only, plus ccxt's currency list (a signed call whenever a key is set)
    assert [(r.method, r.path) for r in fake.requests()] == [
        ("GET", "/v5/asset/coin/query-info"),
        ("GET", "/v5/market/instruments-info"),
    ]


def test_it_replays_klines_up_to_the_clock_and_tells_the_time(fake):
    exchange = client(fake)

    rows = exchange.fetch_ohlcv("BTC/USDT", "1h", limit=3)

    assert [r[0] for r in rows] == [c.open_time for c in BTC_1H[K - 2 : K + 1]]
    assert rows[-1][1] == rows[-1][2] == rows[-1][3] == rows[-1][4]  # in progress: flat, nothing of the future
    assert exchange.fetch_time() == BTC_1H[K].open_time


def test_it_fills_a_market_order_and_finds_it_by_order_link_id(fake):
    exchange = client(fake)

    ack = exchange.create_order("BTC/USDT", "market", "buy", 0.01, None, {"orderLinkId": "bm1-1-B"})
    found = exchange.fetch_open_orders("BTC/USDT", None, None, {"orderLinkId": "bm1-1-B"})

    assert ack["status"] is None and ack["clientOrderId"] == "bm1-1-B"  # Bybit acknowledges with ids only
    assert found[0]["status"] == "closed" and found[0]["filled"] == 0.01
    assert found[0]["average"] == float(BTC_1H[K].open)
    assert found[0]["fee"] == {"cost": 1e-05, "currency": "BTC"}
    order = fake.orders(client_order_id="bm1-1-B")[0]
    assert order.status == "FILLED" and order.executed_qty == Decimal("0.01")
    assert fake.balance(KEY, "BTC").free == Decimal("1.00999")
    assert client(fake).fetch_balance()["free"]["BTC"] == 1.00999
    trades = exchange.fetch_my_trades("BTC/USDT", params={"orderLinkId": "bm1-1-B"})
    assert len(trades) == 1 and trades[0]["fee"]["cost"] == 1e-05


def test_it_rests_a_limit_order_locks_the_quote_and_cancels_it(fake):
    exchange = client(fake)
    price = float((BTC_1H[K].open * Decimal("0.5")).quantize(Decimal("0.01")))

    exchange.create_order("BTC/USDT", "limit", "buy", 0.01, price, {"orderLinkId": "lim-1", "timeInForce": "GTC"})

    assert fake.balance(KEY, "USDT").locked == Decimal(str(price)) * Decimal("0.01")
    assert exchange.fetch_balance()["used"]["USDT"] == float(Decimal(str(price)) * Decimal("0.01"))
    exchange.cancel_order(None, "BTC/USDT", {"orderLinkId": "lim-1"})
    assert fake.orders(client_order_id="lim-1")[0].status == "CANCELED"
    assert fake.balance(KEY, "USDT").locked == 0
    closed = exchange.fetch_closed_orders("BTC/USDT", None, None, {"orderLinkId": "lim-1"})
    assert closed[0]["status"] == "canceled"
    with pytest.raises(ccxt.OrderNotFound):
        exchange.cancel_order(None, "BTC/USDT", {"orderLinkId": "lim-1"})


def test_it_refuses_a_reused_order_link_id(fake):
    exchange = client(fake)
    exchange.create_order("BTC/USDT", "market", "buy", 0.01, None, {"orderLinkId": "same"})

    with pytest.raises(ccxt.InvalidOrder, match="Duplicate"):
        exchange.create_order("BTC/USDT", "market", "buy", 0.01, None, {"orderLinkId": "same"})
    assert len(fake.orders(client_order_id="same")) == 1


def test_it_refuses_a_wrong_signature_and_an_unknown_key(fake):
    with pytest.raises(ccxt.AuthenticationError):
        client(fake, secret="not-the-secret").fetch_balance()
    with pytest.raises(ccxt.AuthenticationError):
        make_bybit_client(fake.base_url, "unknown", SECRET, timeout=1000).fetch_balance()
    assert [r.error_code for r in fake.requests()] == [10004, 10003]


def test_it_refuses_orders_from_a_key_without_spot_trading(fake):
    fake.set_restrictions(KEY, enableSpotAndMarginTrading=False)

    with pytest.raises(ccxt.PermissionDenied):
        client(fake).create_order("BTC/USDT", "market", "buy", 0.01, None, {"orderLinkId": "x"})
    assert fake.orders() == []


@pytest.mark.parametrize(
    "kind, options, raised",
    [
        ("insufficient_balance", {}, ccxt.InsufficientFunds),
        ("reject_precision", {}, ccxt.InvalidOrder),
        ("http_429", {}, ccxt.RateLimitExceeded),
        ("http_5xx", {}, ccxt.ExchangeNotAvailable),
        ("timeout_after_accept", {"delay_s": 1.5}, ccxt.RequestTimeout),
    ],
)
def test_it_injects_faults_that_ccxt_maps_like_bybits_own(fake, kind, options, raised):
    exchange = client(fake)
    exchange.load_markets()
    fake.arm_fault(kind, **options)

    with pytest.raises(raised):
        exchange.create_order("BTC/USDT", "market", "buy", 0.01, None, {"orderLinkId": "f-1"})
    # only a timeout after acceptance leaves an order behind
    assert len(fake.orders(client_order_id="f-1")) == (1 if kind == "timeout_after_accept" else 0)
