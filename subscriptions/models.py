"""A trader's running bot and its record: tables `subscriptions`, `trades` and `performance_logs` of the seed."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone

from accounts.models import Exchange, choices_check


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "ACTIVE", "Active"
    PAUSED = "PAUSED", "Paused"
    CANCELLED = "CANCELLED", "Cancelled"
    EXPIRED = "EXPIRED", "Expired"
    ERROR = "ERROR", "Stopped by an error"


class NetworkType(models.TextChoices):
    TESTNET = "testnet", "Testnet"
    MAINNET = "mainnet", "Mainnet"


class TradeMode(models.TextChoices):
    SPOT = "Spot", "Spot"
    MARGIN = "Margin", "Margin"
    FUTURES = "Futures", "Futures"


class SubscriptionQuerySet(models.QuerySet):
    def owned_by(self, user=None, *, registration=None, principal_id: str | None = None):
        """The subscriptions a caller may see: those `user` holds for themselves (a partner account's subscriptions
        for its marketplace principals are left out: they belong to the partner API), or, given `registration` (a
        partner's BotMarketplaceRegistration), those that registration made for principal `principal_id`."""
        if registration is None:
            return self.filter(user=user, user_principal_id__isnull=True)
        return self.filter(marketplace_registration=registration, user_principal_id=principal_id)


class Subscription(models.Model):
    """One bot running for one trader (or marketplace principal) on one exchange market.

    Status changes go through `subscriptions.services.subscription_transition` and its allowed-transition map;
    the counters (`total_trades`, `winning_trades`, `total_pnl`) are updated in the same transaction as the trade.
    """

    Status = SubscriptionStatus

    NetworkType = NetworkType

    TradeMode = TradeMode

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions")
    user_principal_id = models.CharField(max_length=255, null=True, blank=True)
    # The partner marketplace registration that created the subscription for `user_principal_id`; it alone can
    # see and manage it through the partner API (docs/partner-api.md).
    marketplace_registration = models.ForeignKey(
        "partners.BotMarketplaceRegistration",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subscriptions",
    )
    bot = models.ForeignKey("bots.Bot", on_delete=models.PROTECT, related_name="subscriptions")

    instance_name = models.CharField(max_length=255)
    exchange_type = models.CharField(
        max_length=8, choices=Exchange.choices, default=Exchange.BINANCE, db_default=Exchange.BINANCE
    )
    trading_pair = models.CharField(max_length=20, default="BTC/USDT", db_default="BTC/USDT")

    timeframe = models.CharField(max_length=10, default="1h", db_default="1h")
    timeframes = models.JSONField(null=True, blank=True)
    strategy_config = models.JSONField(default=dict, db_default=models.Value("{}"), blank=True)

    execution_config = models.JSONField(default=dict)
    risk_config = models.JSONField(default=dict)

    trade_evaluation_period = models.IntegerField(null=True, blank=True, help_text="Minutes between runs, if set.")
    network_type = models.CharField(
        max_length=7, choices=NetworkType.choices, default=NetworkType.TESTNET, db_default="testnet"
    )
    trade_mode = models.CharField(max_length=7, choices=TradeMode.choices, default=TradeMode.SPOT, db_default="Spot")

    status = models.CharField(max_length=9, choices=Status.choices, default=Status.ACTIVE, db_default="ACTIVE")
    # Why the subscription stopped (ERROR) or was paused by staff, in words safe to show its owner.
    status_reason = models.TextField(default="", db_default="", blank=True)
    is_testnet = models.BooleanField(default=False, db_default=False)
    is_trial = models.BooleanField(default=False, db_default=False)

    started_at = models.DateTimeField(default=timezone.now, db_default=Now())
    expires_at = models.DateTimeField(null=True, blank=True)
    trial_expires_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True)

    # --- Engine state (not in the seed; see docs/architecture.md) ---
    # Paper mode: simulated fills on real market data, no credential (trials and demos).
    is_paper = models.BooleanField(default=False, db_default=False)
    # The version this subscription runs; None means the bot's newest approved version.
    bot_version = models.ForeignKey(
        "bots.BotVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="subscriptions"
    )
    # The bot's small persistent state between runs (SDK `self.state`).
    bot_state = models.JSONField(default=dict, db_default=models.Value("{}"), blank=True)
    # Close time of the last candle a run was claimed for: the scheduler never claims the same candle twice.
    last_candle_at = models.DateTimeField(null=True, blank=True)
    # Wall-clock time of the last claim: a claimed run not completed within settings.RUN_LEASE_S is claimed again.
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Close time of the last candle whose run finished (a redelivered run for it does nothing).
    completed_candle_at = models.DateTimeField(null=True, blank=True)
    # The last run's failure, shown to the owner; cleared by a successful run.
    last_error = models.TextField(default="", db_default="", blank=True)
    consecutive_failures = models.IntegerField(default=0, db_default=0)

    total_trades = models.IntegerField(default=0, db_default=0)
    winning_trades = models.IntegerField(default=0, db_default=0)
    total_pnl = models.DecimalField(max_digits=15, decimal_places=8, default=Decimal("0"), db_default=Decimal("0"))

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        db_table = "subscriptions"
        indexes = [
            models.Index(fields=["user_principal_id"], name="idx_sub_user_principal_id"),
            models.Index(fields=["status"], name="idx_sub_status"),
            models.Index(fields=["exchange_type"], name="idx_sub_exchange_type"),
            models.Index(fields=["trading_pair"], name="idx_sub_trading_pair"),
            models.Index(fields=["expires_at"], name="idx_sub_expires_at"),
            models.Index(fields=["next_run_at"], name="idx_sub_next_run_at"),
            models.Index(fields=["user", "status"], name="idx_subscription_user_status"),
            models.Index(
                fields=["status", "exchange_type", "trading_pair", "total_trades", "winning_trades", "total_pnl"],
                name="idx_sub_performance_covering",
            ),
        ]
        constraints = [
            choices_check("exchange_type", Exchange, "subscriptions"),
            choices_check("network_type", NetworkType, "subscriptions"),
            choices_check("trade_mode", TradeMode, "subscriptions"),
            choices_check("status", SubscriptionStatus, "subscriptions"),
        ]

    def __str__(self) -> str:
        return f"{self.instance_name} ({self.bot} on {self.exchange_type} {self.trading_pair})"

    @property
    def contact_email(self) -> str | None:
        """Who is told by email when the subscription stops or expires: its owner, or for a marketplace principal
        the partner that operates it (a principal's own account has no deliverable address). None: nobody."""
        if self.marketplace_registration_id:
            partner = self.marketplace_registration.partner
            return partner.email if partner and partner.is_active else None
        return self.user.email

    @property
    def win_rate(self) -> Decimal | None:
        """Winning trades as a fraction of closed trades; None before the first trade."""
        if not self.total_trades:
            return None
        return Decimal(self.winning_trades) / Decimal(self.total_trades)


# --- The record: what the engine did for a subscription ---------------------------------------------------------


class Side(models.TextChoices):
    BUY = "BUY", "Buy"
    SELL = "SELL", "Sell"


class TradeStatus(models.TextChoices):
    OPEN = "OPEN", "Open"
    CLOSED = "CLOSED", "Closed"


class Trade(models.Model):
    """A position opened (and later closed) by a subscription. `pnl` is in the quote currency, net of fees."""

    Status = TradeStatus

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="trades")
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
    # Fees in the quote currency (not in the seed): the entry fee still carried by the open quantity, and the exit
    # fee. `pnl` is already net of both.
    entry_fee = models.DecimalField(max_digits=20, decimal_places=8, default=0, db_default=0)
    exit_fee = models.DecimalField(max_digits=20, decimal_places=8, default=0, db_default=0)
    exit_reason = models.CharField(max_length=11, default="", db_default="", blank=True)

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

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="performance_logs")
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
