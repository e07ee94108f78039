"""Accounts, orders and trades held by the fake exchange, and their Binance JSON shapes.

Plain data; the rules that change them live in ``state.py``. Every amount is a :class:`~decimal.Decimal`
and is only turned into text (8 decimals, Binance's format) when rendered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .markets import fmt

ZERO = Decimal(0)

#: GET /sapi/v1/account/apiRestrictions for a fresh key: read + spot trading, no withdrawals (Binance's field set).
DEFAULT_RESTRICTIONS: dict[str, bool] = {
    "ipRestrict": False,
    "enableReading": True,
    "enableWithdrawals": False,
    "enableInternalTransfer": False,
    "enableMargin": False,
    "enableFutures": False,
    "permitsUniversalTransfer": False,
    "enableVanillaOptions": False,
    "enableFixApiTrade": False,
    "enableFixReadOnly": False,
    "enableSpotAndMarginTrading": True,
    "enablePortfolioMarginTrading": False,
}


@dataclass
class Balance:
    free: Decimal = ZERO
    locked: Decimal = ZERO


@dataclass
class Account:
    """One API key pair and its spot wallet. Commission rates are fractions (0.001 = Binance's default 0.1%)."""

    api_key: str
    secret: str
    uid: int
    created_ms: int
    balances: dict[str, Balance] = field(default_factory=dict)
    restrictions: dict[str, bool] = field(default_factory=lambda: dict(DEFAULT_RESTRICTIONS))
    maker_rate: Decimal = Decimal("0.001")
    taker_rate: Decimal = Decimal("0.001")

    def balance(self, asset: str) -> Balance:
        return self.balances.setdefault(asset, Balance())

    def free(self, asset: str) -> Decimal:
        return self.balance(asset).free

    def lock(self, asset: str, amount: Decimal) -> None:
        bal = self.balance(asset)
        bal.free -= amount
        bal.locked += amount

    def unlock(self, asset: str, amount: Decimal) -> None:
        bal = self.balance(asset)
        bal.locked -= amount
        bal.free += amount

    def credit(self, asset: str, amount: Decimal) -> None:
        self.balance(asset).free += amount

    def debit(self, asset: str, amount: Decimal) -> None:
        self.balance(asset).free -= amount

    def to_binance(self, update_ms: int, *, omit_zero: bool = False) -> dict:
        """GET /api/v3/account (shape of Binance's reply; commissions in basis points and as rates)."""
        balances = [
            {"asset": asset, "free": fmt(bal.free), "locked": fmt(bal.locked)}
            for asset, bal in sorted(self.balances.items())
            if not (omit_zero and bal.free == 0 and bal.locked == 0)
        ]
        can_trade = self.restrictions.get("enableSpotAndMarginTrading", False)
        return {
            "makerCommission": int(self.maker_rate * 10000),
            "takerCommission": int(self.taker_rate * 10000),
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {
                "maker": fmt(self.maker_rate),
                "taker": fmt(self.taker_rate),
                "buyer": fmt(ZERO),
                "seller": fmt(ZERO),
            },
            "canTrade": can_trade,
            "canWithdraw": self.restrictions.get("enableWithdrawals", False),
            "canDeposit": True,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": update_ms,
            "accountType": "SPOT",
            "balances": balances,
            "permissions": ["SPOT"] if can_trade else [],
            "uid": self.uid,
        }

    def restrictions_to_binance(self) -> dict:
        return {**self.restrictions, "createTime": self.created_ms}


@dataclass
class Fill:
    """One trade of an order (the fake never splits an order: each order has at most one fill)."""

    trade_id: int
    order_id: int
    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_maker: bool

    def to_order_fill(self) -> dict:
        """An entry of ``fills`` in a FULL order response."""
        return {
            "price": fmt(self.price),
            "qty": fmt(self.qty),
            "commission": fmt(self.commission),
            "commissionAsset": self.commission_asset,
            "tradeId": self.trade_id,
        }

    def to_my_trade(self) -> dict:
        """An element of GET /api/v3/myTrades."""
        return {
            "symbol": self.symbol,
            "id": self.trade_id,
            "orderId": self.order_id,
            "orderListId": -1,
            "price": fmt(self.price),
            "qty": fmt(self.qty),
            "quoteQty": fmt(self.quote_qty),
            "commission": fmt(self.commission),
            "commissionAsset": self.commission_asset,
            "time": self.time,
            "isBuyer": self.side == "BUY",
            "isMaker": self.is_maker,
            "isBestMatch": True,
        }


OPEN_STATUSES = frozenset({"NEW", "PARTIALLY_FILLED"})


@dataclass
class Order:
    order_id: int
    api_key: str
    symbol: str
    client_order_id: str
    side: str  # BUY / SELL
    type: str  # MARKET / LIMIT / LIMIT_MAKER
    time_in_force: str  # GTC / IOC / FOK ("GTC" for MARKET, as Binance reports it)
    price: Decimal  # 0 for MARKET
    orig_qty: Decimal
    orig_quote_order_qty: Decimal
    time: int
    status: str = "NEW"
    executed_qty: Decimal = ZERO
    cumulative_quote_qty: Decimal = ZERO
    update_time: int = 0
    #: what the order holds in the wallet while open: (asset, amount)
    locked_asset: str = ""
    locked_amount: Decimal = ZERO
    fills: list[Fill] = field(default_factory=list)
    #: open time of the last candle a resting order was matched against (state.py)
    matched_until: int = -1
    #: STOP_LOSS: the trigger price; 0 for other types
    stop_price: Decimal = ZERO
    #: the OCO this order is a leg of (-1: none) and the list's client id
    order_list_id: int = -1
    list_client_order_id: str = ""

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def _common(self) -> dict:
        return {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": self.order_list_id,
            "clientOrderId": self.client_order_id,
            "price": fmt(self.price),
            "origQty": fmt(self.orig_qty),
            "executedQty": fmt(self.executed_qty),
            "origQuoteOrderQty": fmt(self.orig_quote_order_qty),
            "cummulativeQuoteQty": fmt(self.cumulative_quote_qty),  # sic: Binance's spelling
            "status": self.status,
            "timeInForce": self.time_in_force,
            "type": self.type,
            "side": self.side,
        }

    def to_query(self) -> dict:
        """GET /api/v3/order, openOrders and allOrders element."""
        return {
            **self._common(),
            "stopPrice": fmt(self.stop_price),
            "icebergQty": fmt(ZERO),
            "time": self.time,
            "updateTime": self.update_time,
            "isWorking": True,
            "workingTime": self.time,
            "selfTradePreventionMode": "NONE",
        }

    def to_new_order(self, resp_type: str) -> dict:
        """POST /api/v3/order reply for ``newOrderRespType`` ACK, RESULT or FULL."""
        ack = {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_order_id,
            "transactTime": self.time,
        }
        if resp_type == "ACK":
            return ack
        result = {
            **self._common(),
            "transactTime": self.time,
            "workingTime": self.time,
            "selfTradePreventionMode": "NONE",
        }
        if resp_type == "RESULT":
            return result
        return {**result, "fills": [f.to_order_fill() for f in self.fills]}

    def to_cancel(self, cancel_client_id: str, transact_ms: int) -> dict:
        """DELETE /api/v3/order reply (``clientOrderId`` is the cancel request's own id, as on Binance)."""
        body = self._common()
        body.update(
            origClientOrderId=self.client_order_id,
            clientOrderId=cancel_client_id,
            transactTime=transact_ms,
            selfTradePreventionMode="NONE",
        )
        return body
