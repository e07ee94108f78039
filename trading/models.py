"""What the engine did: `trades` and `performance_logs` of the seed."""
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone

from accounts.models import choices_check


class Side(models.TextChoices):
    BUY = "BUY", "Buy"
    SELL = "SELL", "Sell"


class TradeStatus(models.TextChoices):
    OPEN = "OPEN", "Open"
    CLOSED = "CLOSED", "Closed"


class Trade(models.Model):
    """A position opened (and later closed) by a subscription. `pnl` is in the quote currency, net of fees."""

    Status = TradeStatus

    subscription = models.ForeignKey("subscriptions.Subscription", on_delete=models.CASCADE, related_name="trades")
    side = models.CharField(max_length=4, choices=Side.choices)
    trading_pair = models.CharField(max_length=20)
    quantity = models.DecimalField(max_digits=20, decimal_places=8)

    entry_price = models.DecimalField(max_digits=20, decimal_places=8)
    exit_price = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    stop_loss_price = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    take_profit_price = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)

    entry_time = models.DateTimeField(default=timezone.now, db_default=Now())
    exit_time = models.DateTimeField(null=True, blank=True)

    pnl = models.DecimalField(max_digits=15, decimal_places=8, null=True, blank=True)
    pnl_percentage = models.DecimalField(max_digits=8, decimal_places=4, null=True, blank=True)

    exchange_order_id = models.CharField(max_length=100, null=True, blank=True)
    exchange_trade_id = models.CharField(max_length=100, null=True, blank=True)

    status = models.CharField(max_length=6, choices=Status.choices, default=Status.OPEN, db_default="OPEN")

    class Meta:
        db_table = "trades"
        ordering = ["-entry_time", "-id"]
        indexes = [
            models.Index(fields=["trading_pair"], name="idx_trades_trading_pair"),
            models.Index(fields=["side"], name="idx_trades_side"),
            models.Index(fields=["status"], name="idx_trades_status"),
            models.Index(fields=["entry_time"], name="idx_trades_entry_time"),
            models.Index(fields=["pnl"], name="idx_trades_pnl"),
            models.Index(fields=["exchange_order_id"], name="idx_trades_exchange_order_id"),
            models.Index(fields=["subscription", "entry_time"], name="idx_trades_subscription_time"),
        ]
        constraints = [
            choices_check("side", Side, "trades"),
            choices_check("status", TradeStatus, "trades"),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.quantity} {self.trading_pair} @ {self.entry_price}"


class Action(models.TextChoices):
    BUY = "BUY", "Buy"
    SELL = "SELL", "Sell"
    HOLD = "HOLD", "Hold"
    STOP_LOSS = "STOP_LOSS", "Stop loss"
    TAKE_PROFIT = "TAKE_PROFIT", "Take profit"


class PerformanceLog(models.Model):
    """One decision of a subscription's bot, HOLD included, with the indicator values it used (`signal_data`)."""

    Action = Action

    subscription = models.ForeignKey(
        "subscriptions.Subscription", on_delete=models.CASCADE, related_name="performance_logs"
    )
    action = models.CharField(max_length=11, choices=Action.choices)
    timestamp = models.DateTimeField(default=timezone.now, db_default=Now())
    price = models.DecimalField(max_digits=20, decimal_places=8)
    quantity = models.DecimalField(max_digits=20, decimal_places=8)
    balance = models.DecimalField(max_digits=20, decimal_places=8, help_text="Account balance after the action.")
    signal_data = models.JSONField(null=True, blank=True)

    class Meta:
        db_table = "performance_logs"
        ordering = ["-timestamp", "-id"]
        indexes = [
            models.Index(fields=["action"], name="idx_perf_action"),
            models.Index(fields=["timestamp"], name="idx_perf_timestamp"),
            models.Index(fields=["price"], name="idx_perf_price"),
            models.Index(fields=["subscription", "action", "timestamp"], name="idx_perf_subscription_action"),
        ]
        constraints = [choices_check("action", Action, "performance_logs")]

    def __str__(self) -> str:
        return f"{self.action} @ {self.price}"
