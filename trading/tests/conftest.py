"""Fixtures for engine tests: the fake Binance and Bybit servers, a built-in bot, and a trader's testnet key."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from accounts.services import credential_create
from bots.tests.factories import ApprovedBotFactory, BotVersionFactory
from subscriptions.tests.factories import SubscriptionFactory
from testsupport.fake_exchange import PROJECT_CANDLE_DIR, FakeBinance, FakeBybit
from trading.engine.batch import run_batch
from trading.scheduler import claim_due

START = datetime(2021, 5, 1, 0, 0, 30, tzinfo=UTC)
STRATEGY = {"fast": 5, "slow": 20}
API_KEY = "fakeKeyAlice0123456789abcdefABCDEF0123456789abcdefABCDEF01234567"
API_SECRET = "fakeSecretAlice0123456789abcdefABCDEF0123456789abcdefABCDEF0123"


@pytest.fixture
def sma_bot(db):
    bot = ApprovedBotFactory(slug="sma-crossover", name="SMA crossover")
    BotVersionFactory(bot=bot, version="1.0.0", builtin_slug="sma-crossover", validation_status="PASSED")
    return bot


@pytest.fixture
def fake_binance(settings):
    with FakeBinance.start() as fake:
        fake.load_project_candles("BTC/USDT", "1h")
        fake.load_project_candles("ETH/USDT", "1h")
        settings.EXCHANGE_API_BASE_URLS = {"BINANCE": fake.base_url}
        settings.EXCHANGE_TIMEOUT_MS = 1000
        yield fake
        assert fake.internal_errors == []


@pytest.fixture
def alice_key(alice, fake_binance):
    fake_binance.add_account(API_KEY, API_SECRET, {"USDT": "10000"})
    return credential_create(user=alice, exchange="BINANCE", api_key=API_KEY, api_secret=API_SECRET, is_testnet=True)


FAKES = {"BINANCE": FakeBinance, "BYBIT": FakeBybit}


def replay_dir_for_all_exchanges(tmp_path: Path) -> Path:
    """A MARKET_DATA_REPLAY_DIR where every faked exchange replays the shipped Binance candles: there are no Bybit
    candle files, and the fake Bybit server fills on the same candles, so what the engine reads is what it trades."""
    folder = tmp_path / "candles"
    folder.mkdir()
    for code in FAKES:
        (folder / code.lower()).symlink_to(PROJECT_CANDLE_DIR, target_is_directory=True)
    return folder


@pytest.fixture(params=list(FAKES))
def fake_exchange(request, settings, tmp_path):
    """Each test using it runs once per faked exchange (``fake_exchange.code``: "BINANCE", "BYBIT")."""
    code = request.param
    with FAKES[code].start() as fake:
        fake.code = code
        fake.load_project_candles("BTC/USDT", "1h")
        fake.load_project_candles("ETH/USDT", "1h")
        settings.EXCHANGE_API_BASE_URLS = {code: fake.base_url}
        settings.EXCHANGE_TIMEOUT_MS = 1000
        settings.MARKET_DATA_REPLAY_DIR = replay_dir_for_all_exchanges(tmp_path)
        yield fake
        assert fake.internal_errors == []


@pytest.fixture
def alice_exchange_key(alice, fake_exchange):
    fake_exchange.add_account(API_KEY, API_SECRET, {"USDT": "10000"})
    return credential_create(
        user=alice, exchange=fake_exchange.code, api_key=API_KEY, api_secret=API_SECRET, is_testnet=True
    )


def make_testnet_subscription(owner, bot, **fields):
    values = {
        "user": owner,
        "bot": bot,
        "is_paper": False,
        "network_type": "testnet",
        "exchange_type": "BINANCE",
        "trading_pair": "BTC/USDT",
        "timeframe": "1h",
        "strategy_config": STRATEGY,
        "execution_config": {},
        "risk_config": {},
        "started_at": START - timedelta(hours=1),
    }
    values.update(fields)
    return SubscriptionFactory(**values)


def run_tick(now, fake=None):
    """One scheduler tick at `now`, with the fake exchange's clock moved there first."""
    if fake is not None:
        fake.set_time(int(now.timestamp() * 1000))
    reports = []
    for batch in claim_due(now):
        reports += run_batch(subscription_ids=list(batch.subscription_ids), run_at=batch.run_at, now=now)
    return reports
