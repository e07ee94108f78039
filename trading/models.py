"""What the engine keeps besides the record: order intents (`orders`) and paper balances (`paper_accounts`).

The record itself (trades and decisions) belongs to the subscription: subscriptions.models."""

from django.db import models
from django.db.models.functions import Now
from django.utils import timezone

from accounts.models import choices_check
from subscriptions.models import Side, Trade


class OrderPurpose(models.TextChoices):
    ENTRY = "ENTRY", "Open a position"
    EXIT = "EXIT", "Close on the bot's signal"
    STOP_LOSS = "STOP_LOSS", "Stop loss"
    TAKE_PROFIT = "TAKE_PROFIT", "Take profit"


class OrderStatus(models.TextChoices):
    PENDING = "PENDING", "Stored, not yet sent"
    SENT = "SENT", "Sent, outcome unknown"
    OPEN = "OPEN", "Resting on the exchange"
    FILLED = "FILLED", "Filled"
    REJECTED = "REJECTED", "Rejected by the exchange"
    CANCELLED = "CANCELLED", "Cancelled"
    LOST = "LOST", "Never reached the exchange"


class Order(models.Model):
    """An order intent, stored before it is sent: the key to never duplicating and never losing an order.

    The row exists (status PENDING) before the exchange hears of it, with our own client order id; after a timeout
    the engine looks the order up by that id before anything is sent again. One intent per subscription, candle and
    side (its deterministic client id is unique), so even a run repeated for the same candle cannot place a second
    order. Protective orders (purpose STOP_LOSS / TAKE_PROFIT, type "stop" / "limit") rest on the exchange after an
    entry and carry their own client ids (see trading.engine.protection).
    """

    Purpose = OrderPurpose
    Status = OrderStatus

    subscription = models.ForeignKey("subscriptions.Subscription", on_delete=models.CASCADE, related_name="orders")
    candle_at = models.DateTimeField(help_text="Close time of the candle the decision was made on (UTC).")
    side = models.CharField(max_length=4, choices=Side.choices)
    purpose = models.CharField(max_length=11, choices=OrderPurpose.choices)
    order_type = models.CharField(max_length=6, default="market", db_default="market")
    client_order_id = models.CharField(max_length=64, unique=True)
    exchange_order_id = models.CharField(max_length=100, null=True, blank=True)
    status = models.CharField(
        max_length=9, choices=OrderStatus.choices, default=OrderStatus.PENDING, db_default="PENDING"
    )

    # What was asked: a base quantity, or (market buys) an amount of quote currency to spend.
    requested_quantity = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    requested_quote = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    limit_price = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    # A protective stop-loss order's trigger price (order_type "stop").
    stop_price = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    # A resting order (limit) is cancelled at the first run at or after this time (UTC).
    expires_at = models.DateTimeField(null=True, blank=True)
    # The two legs of one protective OCO share the exchange's order-list client id; one filling cancels the other.
    group_client_id = models.CharField(max_length=64, null=True, blank=True)
    # The market's lot step when the order was made: a fill is booked in whole steps (see trading.engine.live).
    amount_step = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    # The bot's decision that made the order (action, size, reason, indicators), as Decision.to_json().
    decision = models.JSONField(null=True, blank=True)
    # What happened.
    filled_quantity = models.DecimalField(max_digits=20, decimal_places=8, default=0, db_default=0)
    average_price = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    fee_quote = models.DecimalField(max_digits=20, decimal_places=8, default=0, db_default=0)
    trade = models.ForeignKey(Trade, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders")
    lookup_attempts = models.IntegerField(default=0, db_default=0)
    error = models.TextField(default="", db_default="", blank=True)

    created_at = models.DateTimeField(default=timezone.now, db_default=Now(), editable=False)
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        db_table = "orders"
        ordering = ["-created_at", "-id"]
        constraints = [
            # One intent per run and leg. Entries and exits are also one per run and side through their client id
            # (`orders.client_order_id`, deterministic and unique); protective legs are told apart by purpose and type.
            models.UniqueConstraint(
                fields=["subscription", "candle_at", "side", "purpose", "order_type"],
                name="unique_order_per_candle_leg",
            ),
            choices_check("side", Side, "orders"),
            choices_check("purpose", OrderPurpose, "orders"),
            choices_check("status", OrderStatus, "orders"),
        ]
        indexes = [models.Index(fields=["status", "updated_at"], name="idx_orders_status_updated")]

    def __str__(self) -> str:
        return f"{self.side} {self.client_order_id} ({self.status})"


class PaperAccount(models.Model):
    """The simulated balances of a paper-mode subscription (quote currency and the base asset held)."""

    subscription = models.OneToOneField(
        "subscriptions.Subscription", on_delete=models.CASCADE, related_name="paper_account"
    )
    starting_balance = models.DecimalField(max_digits=20, decimal_places=8)
    quote_balance = models.DecimalField(max_digits=20, decimal_places=8)
    base_balance = models.DecimalField(max_digits=20, decimal_places=8, default=0, db_default=0)
    # The simulated account exactly (Decimal strings, no rounding): balance and open position. The columns above
    # are its rounded display; runs continue from this, so paper trades equal a backtest's to the last digit.
    exact_state = models.JSONField(default=dict, db_default=models.Value("{}"), blank=True)
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        db_table = "paper_accounts"
        constraints = [
            models.CheckConstraint(condition=models.Q(quote_balance__gte=0), name="paper_quote_not_negative"),
            models.CheckConstraint(condition=models.Q(base_balance__gte=0), name="paper_base_not_negative"),
        ]

    def __str__(self) -> str:
        return f"paper {self.quote_balance} quote / {self.base_balance} base"
