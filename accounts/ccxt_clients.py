"""How the platform configures a ccxt client for one of its exchanges, with or without a key.

Every client has ccxt's per-instance rate limiter on (`enableRateLimit`) and no automatic retries: order creation
must never be retried blindly (see trading.exchanges.base for how an unknown outcome is resolved).
`settings.EXCHANGE_API_BASE_URLS` may re-root an exchange's REST URLs (tests point Binance at the fake exchange).
It sits beside accounts.networks (the exchanges' ccxt ids and networks) so that every app builds its clients the
same way: subscriptions lists an exchange's markets with one, trading.exchanges.ccxt_factory adds keys and refuses
what the platform does not offer.
"""

from urllib.parse import urlsplit

import ccxt
from django.conf import settings

from accounts.networks import CCXT_IDS

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


def ccxt_client(
    exchange_code: str,
    *,
    sandbox: bool = False,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    base_url: str | None = None,
    **config,
) -> ccxt.Exchange:
    """A ccxt client for `exchange_code` (BINANCE, ...; KeyError for a code the platform does not offer), `config`
    passed to ccxt (keys, ...). `sandbox` switches it to the exchange's testnet: the caller has checked that there
    is one (accounts.networks.network_problem), since ccxt 4.5 fails with a TypeError where there is none."""
    ccxt_id = CCXT_IDS[exchange_code]
    params = {"enableRateLimit": True, "timeout": timeout_ms, **config}
    # ccxt's own spacing between two calls of one instance (ms); None keeps ccxt's per-exchange default.
    if getattr(settings, "EXCHANGE_CCXT_RATE_LIMIT_MS", None) is not None:
        params.setdefault("rateLimit", settings.EXCHANGE_CCXT_RATE_LIMIT_MS)
    exchange = getattr(ccxt, ccxt_id)(params)
    exchange.options.update(SPOT_OPTIONS.get(ccxt_id, {}))
    if sandbox:
        exchange.set_sandbox_mode(True)
    base_url = base_url or getattr(settings, "EXCHANGE_API_BASE_URLS", {}).get(exchange_code)
    if base_url:
        rebase_urls(exchange, base_url)
    return exchange
