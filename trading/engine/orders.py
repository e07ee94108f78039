"""Order intents: our own client order id per (subscription, candle, side), and each exchange's name for it."""

import uuid
from datetime import datetime

from accounts.models import Exchange

# The parameter each exchange's API takes our client order id in (ccxt passes these through unchanged).
CLIENT_ORDER_ID_PARAM: dict[str, str] = {
    Exchange.BINANCE: "newClientOrderId",
    Exchange.BYBIT: "orderLinkId",
    Exchange.COINBASE: "client_order_id",
    Exchange.KRAKEN: "cl_ord_id",
    Exchange.HUOBI: "client-order-id",
}
# ... and the one its order lookup takes.
LOOKUP_PARAM: dict[str, str] = {
    Exchange.BINANCE: "origClientOrderId",
    Exchange.BYBIT: "orderLinkId",
    Exchange.COINBASE: "client_order_id",
    Exchange.KRAKEN: "cl_ord_id",
    Exchange.HUOBI: "client-order-id",
}
# Where the exchange holds a position's stop loss and take profit itself, between runs: "oco" (one order list, a
# take-profit limit above the market and a stop-market below it; either filling cancels the other). Exchanges not
# listed here get the engine's per-run check against each closed candle (docs/engine.md).
PROTECTIVE_ORDERS: dict[str, str] = {
    Exchange.BINANCE: "oco",
}
# The letters that end a protective order's client id, in place of the side's B/S: one per leg, one for the list.
STOP_LOSS_LEG = "L"
TAKE_PROFIT_LEG = "T"
ORDER_LIST = "O"

_NAMESPACE = uuid.UUID("6f1c1b0e-5b7e-4d43-9a55-3f0b3d2f6a10")


def client_order_id(*, subscription_id: int, candle_at: datetime, side: str, exchange: str, paper: bool) -> str:
    """Deterministic: a rerun for the same candle and side computes the same id, so the exchange can tell us
    whether it already has that order. Binance/Bybit/Kraken/HTX accept `[A-Za-z0-9_-]{1,36}`; Coinbase wants a
    UUID, so it gets the UUIDv5 of the same text."""
    text = f"bm{'p' if paper else ''}{subscription_id}-{int(candle_at.timestamp())}-{side[0]}"
    # side is "BUY"/"SELL", or for protective orders one of the leg letters above.
    if exchange == Exchange.COINBASE and not paper:
        return str(uuid.uuid5(_NAMESPACE, text))
    return text
