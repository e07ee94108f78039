"""The fake Binance server, exercised only through the real ``ccxt.binance`` class (no mocks).

Run: ``cd /work/main && .venv/bin/python -m pytest testsupport/tests -p no:django -q``
"""

from __future__ import annotations

import json
from decimal import Decimal

import ccxt
import pytest

from testsupport.fake_exchange import PROJECT_CANDLE_DIR, FakeBinance, MarketSpec, make_binance_client
from testsupport.fake_exchange.candles import CandleSeries

KEY, SECRET = "test-key", "test-secret"
HOUR = 3_600_000
BTC_1H = CandleSeries.from_csv(PROJECT_CANDLE_DIR / "BTC_USDT-1h.csv", "1h").candles
# candles 100..111 are contiguous (no gap in the recorded data there)
K = 102


@pytest.fixture
def fake():
    with FakeBinance.start() as server:
        server.load_project_candles("BTC/USDT", "1h")
        server.load_project_candles("ETH/USDT", "1h")
        server.add_account(KEY, SECRET, {"USDT": "10000", "BTC": "1"})
        yield server
        assert server.internal_errors == []


def client(fake: FakeBinance, key: str = KEY, secret: str = SECRET, **options) -> ccxt.binance:
    # a short timeout for the timeout faults; a small rateLimit keeps the suite fast (rate limiting stays on)
    return make_binance_client(fake.base_url, key, secret, **{"timeout": 1000, "rateLimit": 5, **options})


@pytest.fixture
def exchange(fake):
    return client(fake)


def at_open(fake: FakeBinance, index: int) -> None:
    """Clock at the open of BTC candle ``index``: candles < index are closed, ``index`` is in progress."""
    fake.set_time(BTC_1H[index].open_time)


# --- markets and market data ---


def test_load_markets_is_spot_only_with_real_filters(fake, exchange):
    markets = exchange.load_markets()

    assert set(markets) == {"BTC/USDT", "ETH/USDT"}
    btc = markets["BTC/USDT"]
    assert btc["spot"] and btc["id"] == "BTCUSDT"
    assert btc["precision"]["amount"] == 0.00001 and btc["precision"]["price"] == 0.01
    assert btc["limits"]["amount"]["min"] == 0.00001
    assert btc["limits"]["cost"]["min"] == 5
    assert markets["ETH/USDT"]["precision"]["amount"] == 0.0001
    # load_markets made exactly one request: no futures, currencies or margin endpoints
    assert [(r.method, r.path) for r in fake.requests()] == [("GET", "/api/v3/exchangeInfo")]


def test_markets_from_a_recorded_min_notional_exchange_info():
    recorded = PROJECT_CANDLE_DIR.parents[1] / "exchange-info" / "binance" / "exchangeInfo-spot-2018-02.json"
    entry = next(s for s in json.loads(recorded.read_text())["symbols"] if s["symbol"] == "ETHBTC")
    with FakeBinance.start(markets=[MarketSpec.from_exchange_info(entry)]) as server:
        eth_btc = client(server).load_markets()["ETH/BTC"]
    assert eth_btc["precision"]["amount"] == 0.001 and eth_btc["precision"]["price"] == 0.000001
    assert eth_btc["limits"]["cost"]["min"] == 0.001


def test_fetch_ohlcv_replays_candles_up_to_the_clock(fake, exchange):
    fake.set_time(BTC_1H[K].open_time + HOUR // 2)  # half-way through candle K

    rows = exchange.fetch_ohlcv("BTC/USDT", "1h", limit=4)

    assert [r[0] for r in rows] == [c.open_time for c in BTC_1H[K - 3 : K + 1]]
    closed = BTC_1H[K - 1]
    assert rows[-2] == [
        closed.open_time,
        float(closed.open),
        float(closed.high),
        float(closed.low),
        float(closed.close),
        float(closed.volume),
    ]
    # the candle in progress shows only its open: nothing from the replayed future leaks
    current = BTC_1H[K].open
    assert rows[-1][1:] == [float(current)] * 4 + [0.0]

    since = exchange.fetch_ohlcv("BTC/USDT", "1h", since=BTC_1H[0].open_time, limit=3)
    assert [r[0] for r in since] == [c.open_time for c in BTC_1H[:3]]

    fake.advance(HOUR)
    assert exchange.fetch_ohlcv("BTC/USDT", "1h", limit=1)[0][0] == BTC_1H[K + 1].open_time


def test_fetch_ticker_reports_the_current_price(fake, exchange):
    at_open(fake, K)
    ticker = exchange.fetch_ticker("BTC/USDT")
    assert ticker["last"] == float(BTC_1H[K].open)
    assert exchange.public_get_ticker_price({"symbol": "BTCUSDT"})["price"] == "46374.86000000"


def test_klines_for_an_interval_not_loaded_is_an_explicit_error(exchange):
    with pytest.raises(ccxt.BadRequest, match="no candles loaded"):
        exchange.fetch_ohlcv("BTC/USDT", "4h")


# --- authentication and account ---


def test_fetch_balance_with_the_right_key(exchange):
    balance = exchange.fetch_balance()
    assert balance["USDT"]["free"] == 10000 and balance["BTC"]["total"] == 1


def test_wrong_secret_raises_authentication_error(fake):
    with pytest.raises(ccxt.AuthenticationError):
        client(fake, secret="not-the-secret").fetch_balance()
    assert fake.requests()[-1].error_code == -1022


def test_unknown_key_raises_authentication_error(fake):
    with pytest.raises(ccxt.AuthenticationError):
        client(fake, key="nobody").fetch_balance()
    assert fake.requests()[-1].error_code == -2015


def test_api_restrictions_endpoint_through_ccxt(fake):
    fake.add_account("withdrawer", "s2", restrictions={"enableWithdrawals": True, "ipRestrict": True})
    ours = client(fake).sapi_get_account_apirestrictions()
    theirs = client(fake, "withdrawer", "s2").sapi_get_account_apirestrictions()
    assert ours["enableWithdrawals"] is False and ours["enableSpotAndMarginTrading"] is True
    assert theirs["enableWithdrawals"] is True and theirs["ipRestrict"] is True


def test_key_without_trading_permission_gets_minus_2015(fake, exchange):
    fake.set_restrictions(KEY, enableSpotAndMarginTrading=False)
    with pytest.raises(ccxt.AuthenticationError):
        exchange.create_order("BTC/USDT", "market", "buy", 0.001)
    # ccxt quirk: once a private call has succeeded, a later -2015 is raised as DDoSProtection (a "ban")
    exchange.fetch_balance()
    with pytest.raises(ccxt.DDoSProtection):
        exchange.create_order("BTC/USDT", "market", "buy", 0.001)
    assert fake.orders() == []


# --- market orders ---


def test_market_buy_fills_at_the_open_of_the_candle_in_progress_with_fee(fake, exchange):
    at_open(fake, K)  # candle K-1 just closed
    order = exchange.create_order("BTC/USDT", "market", "buy", 0.001, params={"clientOrderId": "buy-1"})

    price = BTC_1H[K].open
    assert order["status"] == "closed" and order["clientOrderId"] == "buy-1"
    assert order["average"] == float(price) and order["filled"] == 0.001
    assert order["fee"] == {"currency": "BTC", "cost": 0.000001}  # 0.1% of the BTC received
    assert order["timestamp"] == BTC_1H[K].open_time
    assert fake.balance(KEY, "USDT").free == Decimal("10000") - Decimal("0.001") * price
    assert fake.balance(KEY, "BTC").free == Decimal("1.000999")


def test_market_sell_pays_fee_in_quote(fake, exchange):
    at_open(fake, K)
    exchange.create_order("BTC/USDT", "market", "sell", 0.01)
    proceeds = Decimal("0.01") * BTC_1H[K].open
    fee = (proceeds * Decimal("0.001")).quantize(Decimal("0.00000001"))
    assert fake.balance(KEY, "USDT").free == Decimal("10000") + proceeds - fee
    trade = exchange.fetch_my_trades("BTC/USDT")[0]
    assert trade["fee"]["currency"] == "USDT" and trade["takerOrMaker"] == "taker"


def test_market_buy_by_cost_uses_quote_order_qty(fake, exchange):
    at_open(fake, K)
    order = exchange.create_market_buy_order_with_cost("BTC/USDT", 100)
    sent = fake.requests("POST", "/api/v3/order")[-1].params
    assert sent["quoteOrderQty"] == "100" and "quantity" not in sent
    assert order["filled"] == 0.00215  # floor(100 / 46374.86) to the 0.00001 step
    assert order["cost"] <= 100


def test_market_order_outside_the_data_is_market_closed(fake, exchange):
    fake.set_time(BTC_1H[-1].open_time + 2 * HOUR)
    with pytest.raises(ccxt.MarketClosed):
        exchange.create_order("BTC/USDT", "market", "buy", 0.001)


# --- limit orders ---


def test_limit_buy_rests_then_fills_when_a_later_candle_crosses(fake, exchange):
    at_open(fake, K)
    order = exchange.create_order("BTC/USDT", "limit", "buy", 0.01, 45600)
    assert order["status"] == "open"
    assert fake.balance(KEY, "USDT").locked == Decimal("456")  # price x qty locked while open

    fake.set_time(BTC_1H[K + 2].open_time)  # candles K, K+1 closed: lows 46233.95, 45816.98 stay above 45600
    assert exchange.fetch_order(order["id"], "BTC/USDT")["status"] == "open"

    fake.advance(HOUR)  # candle K+2 (low 45567.00) closes
    filled = exchange.fetch_order(order["id"], "BTC/USDT")
    assert filled["status"] == "closed" and filled["average"] == 45600
    trade = exchange.fetch_my_trades("BTC/USDT")[0]
    assert trade["takerOrMaker"] == "maker" and trade["fee"] == {"currency": "BTC", "cost": 0.00001}
    assert trade["timestamp"] == BTC_1H[K + 2].open_time + HOUR - 1
    usdt = fake.balance(KEY, "USDT")
    assert (usdt.free, usdt.locked) == (Decimal("9544"), Decimal(0))
    assert exchange.fetch_open_orders("BTC/USDT") == []


def test_limit_sell_fills_on_the_candle_high(fake, exchange):
    at_open(fake, K)
    order = exchange.create_order("BTC/USDT", "limit", "sell", 0.01, 47400)
    fake.advance(HOUR)  # candle K: high 47498.00
    assert exchange.fetch_order(order["id"], "BTC/USDT")["status"] == "closed"


def test_marketable_limit_fills_immediately_at_the_current_price(fake, exchange):
    at_open(fake, K)
    order = exchange.create_order("BTC/USDT", "limit", "buy", 0.01, 47000)
    assert order["status"] == "closed" and order["average"] == float(BTC_1H[K].open)
    assert fake.balance(KEY, "USDT").locked == 0


def test_post_only_that_would_take_is_rejected(fake, exchange):
    at_open(fake, K)
    with pytest.raises(ccxt.OrderImmediatelyFillable):
        exchange.create_order("BTC/USDT", "limit", "buy", 0.01, 47000, params={"postOnly": True})


def test_cancel_releases_the_lock_and_unknown_cancel_is_order_not_found(fake, exchange):
    at_open(fake, K)
    order = exchange.create_order("BTC/USDT", "limit", "buy", 0.01, 40000)
    canceled = exchange.cancel_order(order["id"], "BTC/USDT")
    assert canceled["status"] == "canceled"
    assert fake.balance(KEY, "USDT").free == Decimal("10000")
    with pytest.raises(ccxt.OrderNotFound):
        exchange.cancel_order(order["id"], "BTC/USDT")

    exchange.create_order("BTC/USDT", "limit", "buy", 0.01, 40000, params={"clientOrderId": "to-cancel"})
    exchange.cancel_order(None, "BTC/USDT", params={"origClientOrderId": "to-cancel"})
    assert [o.status for o in fake.orders(client_order_id="to-cancel")] == ["CANCELED"]


# --- client order ids ---


def test_duplicate_client_order_id_is_rejected_while_the_first_is_open(fake, exchange):
    at_open(fake, K)
    exchange.create_order("BTC/USDT", "limit", "buy", 0.01, 40000, params={"clientOrderId": "dup-1"})
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
        exchange.create_order("BTC/USDT", "limit", "buy", 0.01, 40000, params={"clientOrderId": "dup-1"})
    assert len(fake.orders(client_order_id="dup-1")) == 1


def test_client_order_id_reuse_after_fill_follows_binance_unless_strict(fake, exchange):
    # Binance: "same newClientOrderId can be accepted only when the previous one is filled"
    at_open(fake, K)
    exchange.create_order("BTC/USDT", "market", "buy", 0.001, params={"clientOrderId": "again"})
    exchange.create_order("BTC/USDT", "market", "buy", 0.001, params={"clientOrderId": "again"})
    assert len(fake.orders(client_order_id="again")) == 2

    with FakeBinance.start(client_id_policy="strict") as strict:
        strict.load_project_candles("BTC/USDT", "1h")
        strict.add_account(KEY, SECRET, {"USDT": "1000"})
        strict_client = client(strict)
        strict_client.create_order("BTC/USDT", "market", "buy", 0.001, params={"clientOrderId": "again"})
        with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
            strict_client.create_order("BTC/USDT", "market", "buy", 0.001, params={"clientOrderId": "again"})


def test_fetch_order_by_client_order_id(fake, exchange):
    at_open(fake, K)
    created = exchange.create_order("BTC/USDT", "market", "buy", 0.001, params={"clientOrderId": "find-me"})
    found = exchange.fetch_order(None, "BTC/USDT", params={"origClientOrderId": "find-me"})
    assert found["id"] == created["id"] and found["status"] == "closed"
    assert fake.requests("GET", "/api/v3/order")[-1].params["origClientOrderId"] == "find-me"


def test_unknown_order_raises_order_not_found(exchange):
    with pytest.raises(ccxt.OrderNotFound):
        exchange.fetch_order("999999", "BTC/USDT")
    with pytest.raises(ccxt.OrderNotFound):
        exchange.fetch_order(None, "BTC/USDT", params={"origClientOrderId": "never-sent"})


# --- exchange-side rejections (real filters, not faults) ---


def test_filter_rejections(fake, exchange):
    at_open(fake, K)
    exchange.load_markets()
    base = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
    # ccxt rounds amounts/prices itself, so send raw requests through ccxt's signed implicit API
    with pytest.raises(ccxt.InvalidOrder, match="LOT_SIZE"):
        exchange.private_post_order({**base, "quantity": "0.000015", "price": "40000"})
    with pytest.raises(ccxt.InvalidOrder, match="PRICE_FILTER"):
        exchange.private_post_order({**base, "quantity": "0.001", "price": "40000.005"})
    with pytest.raises(ccxt.BadRequest, match="too much precision"):
        exchange.private_post_order({**base, "quantity": "0.000000001", "price": "40000"})
    # 0.0001 BTC x ~46375 = 4.64 USDT < NOTIONAL minNotional 5 (ccxt does not check cost before sending)
    with pytest.raises(ccxt.BadRequest, match="Filter failure: NOTIONAL"):
        exchange.create_order("BTC/USDT", "market", "buy", 0.0001)
    with pytest.raises(ccxt.InsufficientFunds):
        exchange.create_order("BTC/USDT", "market", "buy", 1)
    assert fake.orders() == []


# --- faults ---


def test_http_429_raises_ddos_protection_and_creates_nothing(fake, exchange):
    at_open(fake, K)
    fake.arm_fault("http_429")
    with pytest.raises(ccxt.DDoSProtection) as raised:
        exchange.create_order("BTC/USDT", "market", "buy", 0.001)
    assert not isinstance(raised.value, ccxt.RateLimitExceeded)  # a sibling class in ccxt 4.5, not a parent
    assert fake.orders() == []
    assert fake.requests("POST", "/api/v3/order")[-1].status == 429
    exchange.create_order("BTC/USDT", "market", "buy", 0.001)  # the fault was used up
    assert len(fake.orders()) == 1


def test_http_5xx_raises_exchange_not_available(fake, exchange):
    at_open(fake, K)
    fake.arm_fault("http_5xx")
    with pytest.raises(ccxt.ExchangeNotAvailable):
        exchange.create_order("BTC/USDT", "market", "buy", 0.001)
    assert fake.orders() == []
    # accept=True: Binance's "execution status unknown" -- the client sees an error but the order exists
    fake.arm_fault("http_5xx", accept=True)
    with pytest.raises(ccxt.ExchangeNotAvailable):
        exchange.create_order("BTC/USDT", "market", "buy", 0.001, params={"clientOrderId": "unknown-fate"})
    assert len(fake.orders(client_order_id="unknown-fate")) == 1


def test_insufficient_balance_and_precision_faults(fake, exchange):
    at_open(fake, K)
    fake.arm_fault("insufficient_balance")
    fake.arm_fault("reject_precision")
    with pytest.raises(ccxt.InsufficientFunds):
        exchange.create_order("BTC/USDT", "market", "buy", 0.001)
    with pytest.raises(ccxt.InvalidOrder, match="LOT_SIZE"):
        exchange.create_order("BTC/USDT", "market", "buy", 0.001)
    assert fake.orders() == []


def test_timeout_after_accept_leaves_exactly_one_order_found_by_client_id(fake):
    at_open(fake, K)
    exchange = client(fake, timeout=500)
    fake.arm_fault("timeout_after_accept", delay_s=1.0)
    with pytest.raises(ccxt.RequestTimeout):
        exchange.create_order("BTC/USDT", "market", "buy", 0.001, params={"clientOrderId": "lost-reply"})

    assert len(fake.orders(client_order_id="lost-reply")) == 1
    assert len(fake.requests("POST", "/api/v3/order", client_order_id="lost-reply")) == 1
    found = exchange.fetch_order(None, "BTC/USDT", params={"origClientOrderId": "lost-reply"})
    assert found["status"] == "closed" and found["filled"] == 0.001


def test_timeout_after_accept_drop_mode_raises_network_error(fake, exchange):
    at_open(fake, K)
    fake.arm_fault("timeout_after_accept", mode="drop")
    with pytest.raises(ccxt.NetworkError) as raised:
        exchange.create_order("BTC/USDT", "market", "buy", 0.001, params={"clientOrderId": "dropped"})
    assert not isinstance(raised.value, ccxt.RequestTimeout)
    assert len(fake.orders(client_order_id="dropped")) == 1


def test_faults_only_hit_the_armed_method_and_path(fake, exchange):
    fake.arm_fault("http_5xx", method="GET", path="/api/v3/account", count=2)
    exchange.load_markets()  # GET exchangeInfo is unaffected
    for _ in range(2):
        with pytest.raises(ccxt.ExchangeNotAvailable):
            exchange.fetch_balance()
    assert exchange.fetch_balance()["USDT"]["free"] == 10000


def test_unknown_fault_or_option_is_refused(fake):
    with pytest.raises(ValueError):
        fake.arm_fault("http_418")
    with pytest.raises(ValueError):
        fake.arm_fault("http_5xx", stauts=502)


def test_chaos_mode_is_reproducible_with_a_seed(fake):
    def run(seed: int) -> list[str | None]:
        with FakeBinance.start() as server:
            server.set_chaos(seed, {"http_429": 0.2, "http_5xx": 0.2}, match=[("GET", "/api/v3/ping")])
            ex = client(server)
            outcomes = []
            for _ in range(25):
                try:
                    ex.public_get_ping()
                    outcomes.append(None)
                except ccxt.DDoSProtection:
                    outcomes.append("http_429")
                except ccxt.ExchangeNotAvailable:
                    outcomes.append("http_5xx")
            assert [r.fault for r in server.requests()] == outcomes
            return outcomes

    first = run(7)
    assert first == run(7)
    assert {"http_429", "http_5xx", None} <= set(first)


# --- clock ---


def test_clock_only_moves_forward(fake):
    at_open(fake, K)
    with pytest.raises(ValueError):
        fake.set_time(BTC_1H[K - 1].open_time)
