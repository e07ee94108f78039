"""Order intents: our own client order id per (subscription, candle, side). Each exchange's name for it is its
adapter's (trading.exchanges)."""

import uuid
from datetime import datetime

from trading.exchanges.registry import adapter_class

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
    if not paper and adapter_class(exchange).uuid_client_order_ids:
        return str(uuid.uuid5(_NAMESPACE, text))
    return text
