"""The markets a subscription may trade: the replay candle files shipped in data/candles (MARKET_DATA_REPLAY_DIR)
and, when market data comes from ccxt, the exchange's active spot markets.

The exchange is asked through accounts.ccxt_clients, the client the engine also builds (trading.exchanges), so the
list is what the engine can trade.
"""


from django.conf import settings
from django.core.cache import cache

from accounts.models import Exchange
from core import timeframes
from core.candle_files import candle_files

MARKETS_CACHE_SECONDS = 60 * 60
MARKETS_RETRY_SECONDS = 5 * 60


def _replay_files(exchange: str) -> dict[str, list[str]]:
    """{pair: [timeframes]} of the exchange's replay candle files (core.candle_files) in MARKET_DATA_REPLAY_DIR."""
    found: dict[str, list[str]] = {}
    for file in candle_files(settings.MARKET_DATA_REPLAY_DIR, exchange):
        found.setdefault(file.symbol, []).append(file.timeframe)
    return found


def _ccxt_pairs(exchange: str) -> list[str]:
    """The exchange's active spot markets through ccxt, cached for an hour; [] when it does not answer."""
    key = f"markets:ccxt:{exchange}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    from accounts.ccxt_clients import ccxt_client  # late: ccxt is slow to import

    try:
        markets = ccxt_client(exchange).load_markets()
    except Exception:  # noqa: BLE001 - an exchange that does not answer just offers its replay pairs
        # Remembered for a few minutes, so an unreachable exchange does not slow every subscribe page down.
        cache.set(key, [], timeout=MARKETS_RETRY_SECONDS)
        return []
    pairs = sorted(
        symbol for symbol, market in markets.items() if market.get("spot") and market.get("active") is not False
    )
    cache.set(key, pairs, timeout=MARKETS_CACHE_SECONDS)
    return pairs


def market_pairs(exchange: str) -> list[str]:
    """Pairs a subscription may trade on `exchange`: those with replay candles (data/candles/<exchange>/), plus
    ccxt's active spot markets when MARKET_DATA_SOURCE is "ccxt". Sorted, no duplicates."""
    pairs = set(_replay_files(exchange))
    if settings.MARKET_DATA_SOURCE == "ccxt":
        pairs.update(_ccxt_pairs(exchange))
    return sorted(pairs)


def market_timeframes(exchange: str, pair: str) -> list[str]:
    """The timeframes `pair` can run on: with replayed market data only those with a candle file; with ccxt all
    of core.timeframes.SUPPORTED_TIMEFRAMES."""
    if settings.MARKET_DATA_SOURCE == "ccxt":
        return list(timeframes.SUPPORTED_TIMEFRAMES)
    available = set(_replay_files(exchange).get(pair, []))
    return [timeframe for timeframe in timeframes.SUPPORTED_TIMEFRAMES if timeframe in available]


def market_choices() -> dict[str, list[str]]:
    """{exchange code: [pairs]} for every exchange, for the subscribe form."""
    return {exchange: market_pairs(exchange) for exchange in Exchange.values}


def market_catalog(markets: dict[str, list[str]] | None = None) -> dict[str, dict[str, list[str]]]:
    """{exchange: {pair: [timeframes]}} of every market a subscription may trade (for the subscribe form's script);
    `markets` is market_choices() when the caller has it already."""
    markets = market_choices() if markets is None else markets
    return {
        exchange: {pair: market_timeframes(exchange, pair) for pair in pairs} for exchange, pairs in markets.items()
    }
