"""What the engine needs from an exchange, independent of ccxt: market rules, balances, orders by client id."""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class MarketRules:
    """A spot market's trading rules: amounts are rounded down to `amount_step`; an order must reach the minimums."""

    symbol: str
    base: str
    quote: str
    amount_step: Decimal | None
    min_amount: Decimal | None
    min_notional: Decimal | None
    taker_fee_rate: Decimal
    price_step: Decimal | None = None  # the tick: limit and stop prices are rounded to it


@dataclass(frozen=True)
class OrderResult:
    """An order as the exchange reports it. Fees are split by the currency they were charged in."""

    exchange_order_id: str
    client_order_id: str | None
    status: str  # ccxt's: open, closed, canceled, expired, rejected
    filled: Decimal
    average_price: Decimal | None
    fee_base: Decimal = Decimal(0)
    fee_quote: Decimal = Decimal(0)
    exchange_trade_id: str | None = None
    requested: Decimal | None = None  # the order's amount (base), when the exchange says
    filled_at_ms: int | None = None  # when it last traded, when the exchange says

    @property
    def is_final(self) -> bool:
        return self.status in ("closed", "canceled", "expired", "rejected")
