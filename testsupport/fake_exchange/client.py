"""Build the real ``ccxt.binance`` class pointed at another base URL (the fake server, or any Binance-compatible
host), configured for spot trading only.

This is meant to be shared by tests and the trading engine: the engine can call the same function with
``base_url="https://api.binance.com"`` and get the identical configuration, minus the fake.
"""

from __future__ import annotations

import ccxt

from accounts.ccxt_clients import rebase_urls

#: ccxt options that keep ``load_markets()`` to one request (``GET /api/v3/exchangeInfo``):
#: no futures/options exchangeInfo, no private currency list (``/sapi/v1/capital/config/getall``),
#: no margin pair lists (``/sapi/v1/margin/allPairs``, ``isolated/allPairs``).
SPOT_ONLY_OPTIONS: dict[str, object] = {
    "defaultType": "spot",
    "fetchMarkets": {"types": ["spot"]},
    "fetchCurrencies": False,
    "fetchMargins": False,
}

DEFAULT_TIMEOUT_MS = 5000


def make_binance_client(base_url: str, api_key: str, secret: str, **options: object) -> ccxt.binance:
    """The real ``ccxt.binance`` with every REST URL re-rooted at ``base_url``.

    URL override: each entry of ``exchange.urls["api"]`` (and of ``urls["test"]`` / ``urls["demo"]``, so
    sandbox or demo mode cannot escape either) keeps its path and gets ``base_url`` as scheme+host, e.g.

    ===========  =================================  ==============================
    key          ccxt default                       overridden
    ===========  =================================  ==============================
    public       https://api.binance.com/api/v3     {base_url}/api/v3
    private      https://api.binance.com/api/v3     {base_url}/api/v3
    v1           https://api.binance.com/api/v1     {base_url}/api/v1
    sapi         https://api.binance.com/sapi/v1    {base_url}/sapi/v1
    sapiV2..V4   https://api.binance.com/sapi/vN    {base_url}/sapi/vN
    fapi*/dapi*/eapi*/papi*  (futures, options)     {base_url}/fapi/v1 ... (the fake answers -1020)
    ===========  =================================  ==============================

    Configuration: ``enableRateLimit=True``; ``timeout`` (ms) defaults to 5000; ``options`` are
    :data:`SPOT_ONLY_OPTIONS` (``load_markets()`` then only calls ``GET /api/v3/exchangeInfo``).

    ``**options`` are ccxt constructor settings that override the above, e.g. ``timeout=1000``,
    ``rateLimit=10`` (ms per request weight); an ``options={...}`` dict is merged into ccxt's ``options``
    rather than replacing them.
    """
    extra_options = dict(options.pop("options", None) or {})  # type: ignore[call-overload]
    config: dict[str, object] = {
        "apiKey": api_key,
        "secret": secret,
        "enableRateLimit": True,
        "timeout": DEFAULT_TIMEOUT_MS,
        **options,
    }
    exchange = ccxt.binance(config)  # type: ignore[arg-type]
    exchange.options.update(SPOT_ONLY_OPTIONS)
    exchange.options.update(extra_options)
    rebase_urls(exchange, base_url)
    return exchange


def make_bybit_client(base_url: str, api_key: str, secret: str, **options: object) -> ccxt.bybit:
    """The real ``ccxt.bybit`` with every REST URL re-rooted at ``base_url``, configured as the engine's factory
    configures it (``accounts.ccxt_clients.SPOT_OPTIONS["bybit"]``): spot markets only, so
    ``load_markets()`` is ``GET /v5/market/instruments-info?category=spot`` plus, with a key, ccxt's
    ``GET /v5/asset/coin/query-info``. ``enableRateLimit=True``, ``timeout`` 5000 ms; ``**options`` as for
    :func:`make_binance_client`."""
    from accounts.ccxt_clients import SPOT_OPTIONS

    extra_options = dict(options.pop("options", None) or {})  # type: ignore[call-overload]
    config: dict[str, object] = {
        "apiKey": api_key,
        "secret": secret,
        "enableRateLimit": True,
        "timeout": DEFAULT_TIMEOUT_MS,
        **options,
    }
    exchange = ccxt.bybit(config)  # type: ignore[arg-type]
    exchange.options.update(SPOT_OPTIONS["bybit"])
    exchange.options.update(extra_options)
    rebase_urls(exchange, base_url)
    return exchange
