"""Build configured ccxt exchange objects for the platform's exchanges.

Every instance has ccxt's per-instance rate limiter on (`enableRateLimit`) and no automatic retries: order
creation must never be retried blindly (see trading.exchanges.base for how an unknown outcome is resolved).
`settings.EXCHANGE_API_BASE_URLS` may re-root an exchange's REST URLs (tests point Binance at the fake exchange).
"""

from urllib.parse import urlsplit

import ccxt
from django.conf import settings

from accounts.networks import CCXT_IDS, network_problem
from trading.exceptions import ExchangeNotSupported

# Per exchange: options that keep it on spot markets and keep load_markets() to the calls it needs.
SPOT_OPTIONS: dict[str, dict] = {
    "binance": {
        "defaultType": "spot",
        "fetchMarkets": {"types": ["spot"]},
        "fetchCurrencies": False,
        "fetchMargins": False,
    },
    "bybit": {"defaultType": "spot", "fetchMarkets": {"types": ["spot"]}},
    "coinbase": {},
    "kraken": {},
    "htx": {"defaultType": "spot", "fetchMarkets": {"types": {"spot": True}}},
}

DEFAULT_TIMEOUT_MS = 10_000


def _rebase(url: str, base_url: str) -> str:
    """Keep `url`'s path, replace scheme and host: https://api.binance.com/api/v3 -> <base>/api/v3."""
    return base_url.rstrip("/") + urlsplit(url).path


def rebase_urls(exchange: ccxt.Exchange, base_url: str) -> None:
    """Point every REST URL of `exchange` (live, test and demo sections) at `base_url`, so nothing escapes."""
    for section in ("api", "test", "demo"):
        urls = exchange.urls.get(section)
        if isinstance(urls, dict):
            exchange.urls[section] = {
                key: _rebase(url, base_url) if isinstance(url, str) else url for key, url in urls.items()
            }


def make_exchange(
    exchange_code: str,
    *,
    api_key: str | None = None,
    secret: str | None = None,
    passphrase: str | None = None,
    testnet: bool = False,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    base_url: str | None = None,
    **config,
) -> ccxt.Exchange:
    """A ccxt exchange for `exchange_code` (BINANCE, ...). Raises ExchangeNotSupported for testnet where none exists."""
    try:
        ccxt_id = CCXT_IDS[exchange_code]
    except KeyError:
        raise ExchangeNotSupported(f"Exchange {exchange_code!r} is not supported.") from None
    exchange_class = getattr(ccxt, ccxt_id)
    params = {"enableRateLimit": True, "timeout": timeout_ms, **config}
    # ccxt's own spacing between two calls of one instance (ms); None keeps ccxt's per-exchange default.
    if getattr(settings, "EXCHANGE_CCXT_RATE_LIMIT_MS", None) is not None:
        params.setdefault("rateLimit", settings.EXCHANGE_CCXT_RATE_LIMIT_MS)
    if api_key:
        params.update(apiKey=api_key, secret=secret)
        if passphrase:
            params["password"] = passphrase
    exchange = exchange_class(params)
    exchange.options.update(SPOT_OPTIONS.get(ccxt_id, {}))
    base_url = base_url or getattr(settings, "EXCHANGE_API_BASE_URLS", {}).get(exchange_code)
    if testnet:
        # Asked first: ccxt 4.5's set_sandbox_mode fails with a TypeError, not NotSupported, on an exchange whose
        # sandbox URL is None (accounts.networks).
        problem = network_problem(exchange_code, testnet=True)
        if problem:
            raise ExchangeNotSupported(problem)
        exchange.set_sandbox_mode(True)
    if base_url:
        rebase_urls(exchange, base_url)
    return exchange
