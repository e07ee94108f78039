"""Which networks each exchange offers: mainnet always, a testnet only where ccxt knows one.

Read from ccxt itself rather than written down here, so the answer follows the library: an exchange has a testnet
when its ccxt class carries a sandbox URL (`urls["test"]`). ccxt 4.5 lists `urls["test"] = None` for Coinbase,
Kraken and HTX, and `set_sandbox_mode(True)` then fails inside ccxt with a TypeError instead of its documented
NotSupported; such a pair must be refused where it is asked for (key forms, subscribe forms, the APIs), never met
by the engine.
"""

from functools import cache

from accounts.models import Exchange

# The ccxt class of each exchange the platform offers.
CCXT_IDS: dict[str, str] = {
    Exchange.BINANCE: "binance",
    Exchange.COINBASE: "coinbase",
    Exchange.KRAKEN: "kraken",
    Exchange.BYBIT: "bybit",
    Exchange.HUOBI: "htx",
}


@cache
def has_testnet(exchange: str) -> bool:
    """Whether `exchange` (an Exchange code) has a testnet ccxt can trade on. False for an unknown code."""
    import ccxt  # late: a heavy import that only this question needs in the accounts app

    ccxt_id = CCXT_IDS.get(exchange)
    if ccxt_id is None:
        return False
    return bool(getattr(ccxt, ccxt_id)().urls.get("test"))


def testnet_exchanges() -> list[str]:
    """The codes of the exchanges with a testnet, in Exchange order."""
    return [code for code in Exchange.values if has_testnet(code)]


def network_problem(exchange: str, *, testnet: bool) -> str:
    """Why (exchange, network) cannot be used, in words for the user; "" when it exists (every mainnet, and the
    testnets ccxt knows). An unknown exchange is the caller's own check."""
    if not testnet or exchange not in Exchange.values or has_testnet(exchange):
        return ""
    others = ", ".join(Exchange(code).label for code in testnet_exchanges()) or "none"
    return (
        f"{Exchange(exchange).label} has no testnet. Use paper mode to practise on {Exchange(exchange).label}'s "
        f"prices, or mainnet; exchanges with a testnet: {others}."
    )
