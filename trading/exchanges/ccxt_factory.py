"""Build the engine's ccxt exchange objects: accounts.ccxt_clients' client, with the subscription's key and network.

Refuses, as ExchangeNotSupported, an exchange the platform does not offer and a testnet the exchange does not have.
Order creation is never retried blindly (see trading.exchanges.base for how an unknown outcome is resolved).
"""

import ccxt

from accounts.ccxt_clients import DEFAULT_TIMEOUT_MS, ccxt_client
from accounts.networks import CCXT_IDS, network_problem
from trading.exceptions import ExchangeNotSupported


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
    if exchange_code not in CCXT_IDS:
        raise ExchangeNotSupported(f"Exchange {exchange_code!r} is not supported.")
    if testnet:
        # Asked first: ccxt 4.5's set_sandbox_mode fails with a TypeError, not NotSupported, on an exchange whose
        # sandbox URL is None (accounts.networks).
        problem = network_problem(exchange_code, testnet=True)
        if problem:
            raise ExchangeNotSupported(problem)
    if api_key:
        config.update(apiKey=api_key, secret=secret)
        if passphrase:
            config["password"] = passphrase
    return ccxt_client(exchange_code, sandbox=testnet, timeout_ms=timeout_ms, base_url=base_url, **config)
