"""The bot catalog: categories, bots, their versions, reviews, daily performance and backtest runs.

Table `bots` follows the seed exactly; `bot_categories`, `bot_reviews`, `bot_performance` and `bot_versions` are what
the seed uses without defining (see docs/architecture.md). Partner registrations of bots live in partners.models.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone

from accounts.models import Timestamped, choices_check


class BotCategory(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True, default="", db_default="")
    created_at = models.DateTimeField(default=timezone.now, db_default=Now(), editable=False)

    class Meta:
        db_table = "bot_categories"
        ordering = ["name"]
        verbose_name_plural = "bot categories"

    def __str__(self) -> str:
        return self.name


class BotType(models.TextChoices):
    TECHNICAL = "TECHNICAL", "Technical analysis"
    ML = "ML", "Machine learning"
    DL = "DL", "Deep learning"
    LLM = "LLM", "Large language model"


class BotStatus(models.TextChoices):
    PENDING = "PENDING", "Pending review"
    APPROVED = "APPROVED", "Approved"
    REJECTED = "REJECTED", "Rejected"
    ARCHIVED = "ARCHIVED", "Archived"


class Bot(Timestamped):
    """A trading bot in the catalog. Its status changes only through `bots.services` (moderation)."""

    Type = BotType

    Status = BotStatus

    developer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bots")
    slug = models.SlugField(max_length=100, unique=True)

    name = models.CharField(max_length=255)
    description = models.TextField()
    version = models.CharField(max_length=50, default="1.0.0", db_default="1.0.0")
    category = models.ForeignKey(BotCategory, null=True, blank=True, on_delete=models.SET_NULL, related_name="bots")

    bot_type = models.CharField(max_length=9, choices=Type.choices, default=Type.TECHNICAL, db_default=Type.TECHNICAL)
    config_schema = models.JSONField(null=True, blank=True)
    default_config = models.JSONField(null=True, blank=True)

    price_per_month = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=Decimal("0.00"),
        db_default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0.00"))],
    )
    is_free = models.BooleanField(default=True, db_default=True)
    trial_days = models.PositiveSmallIntegerField(default=0, db_default=0)

    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING, db_default=Status.PENDING)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_column="approved_by",
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    # Shown to the developer when staff reject the bot.
    rejection_reason = models.TextField(default="", db_default="", blank=True)

    code_path = models.CharField(max_length=500, null=True, blank=True)
    model_path = models.CharField(max_length=500, null=True, blank=True)
    model_metadata = models.JSONField(null=True, blank=True)

    # Denormalised statistics, refreshed by a periodic task (see trading.tasks).
    total_subscribers = models.IntegerField(default=0, db_default=0)
    average_rating = models.DecimalField(
        max_digits=3, decimal_places=2, default=Decimal("0.00"), db_default=Decimal("0.00")
    )
    total_reviews = models.IntegerField(default=0, db_default=0)

    class Meta:
        db_table = "bots"
        indexes = [
            models.Index(fields=["status"], name="idx_bots_status"),
            models.Index(fields=["bot_type"], name="idx_bots_bot_type"),
            models.Index(fields=["price_per_month"], name="idx_bots_price"),
            models.Index(fields=["average_rating"], name="idx_bots_rating"),
        ]
        constraints = [
            choices_check("bot_type", BotType, "bots"),
            choices_check("status", BotStatus, "bots"),
            models.CheckConstraint(condition=models.Q(price_per_month__gte=0), name="bots_price_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class VersionValidationStatus(models.TextChoices):
    PENDING = "PENDING", "Waiting for validation"
    RUNNING = "RUNNING", "Validating"
    PASSED = "PASSED", "Passed"
    FAILED = "FAILED", "Failed"


class BotVersion(models.Model):
    """One uploaded version of a bot's code. Old versions are kept; subscribers run the approved one."""

    ValidationStatus = VersionValidationStatus

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="versions")
    version = models.CharField(max_length=50)
    changelog = models.TextField(default="", db_default="", blank=True)
    # Built-in bots have no upload: they name their class in core.builtin instead.
    builtin_slug = models.CharField(max_length=100, default="", db_default="", blank=True)
    code_path = models.CharField(max_length=500, null=True, blank=True)
    model_path = models.CharField(max_length=500, null=True, blank=True)
    # SHA-256 of the code and model as the sandbox receives them (bots.code_digest), taken at upload: workers cache
    # the code under it and refuse a copy that does not hash to it. Empty for built-in versions.
    code_sha256 = models.CharField(max_length=64, default="", db_default="", blank=True)
    config_schema = models.JSONField(null=True, blank=True)
    default_config = models.JSONField(null=True, blank=True)
    validation_status = models.CharField(
        max_length=8, choices=ValidationStatus.choices, default=ValidationStatus.PENDING, db_default="PENDING"
    )
    validation_report = models.JSONField(null=True, blank=True)
    # Staff approval of this version: subscribers run the newest approved version, never unreviewed code.
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_default=Now(), editable=False)

    class Meta:
        db_table = "bot_versions"
        ordering = ["bot", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["bot", "version"], name="unique_bot_version"),
            choices_check("validation_status", VersionValidationStatus, "bot_versions"),
        ]

    def __str__(self) -> str:
        return f"{self.bot} {self.version}"


class BotReview(Timestamped):
    """One subscriber's review of a bot: one per user and bot, rating 1–5 enforced by the database."""

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="reviews")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bot_reviews")
    rating = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    text = models.TextField(default="", db_default="", blank=True)

    class Meta:
        db_table = "bot_reviews"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["bot", "user"], name="unique_review_per_user_and_bot"),
            models.CheckConstraint(condition=models.Q(rating__gte=1, rating__lte=5), name="bot_reviews_rating_1_to_5"),
        ]

    def __str__(self) -> str:
        return f"{self.rating}★ {self.bot} by {self.user}"


class BotPerformance(models.Model):
    """A per-bot, per-day snapshot of what the platform itself ran: trades, P&L, win rate, drawdown."""

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="daily_performance")
    date = models.DateField()
    total_trades = models.IntegerField(default=0, db_default=0)
    winning_trades = models.IntegerField(default=0, db_default=0)
    total_pnl = models.DecimalField(max_digits=15, decimal_places=8, default=Decimal("0"), db_default=Decimal("0"))
    # Fractions (0.55 = 55 %), so they are never confused with the seed's percentage columns.
    win_rate = models.DecimalField(max_digits=5, decimal_places=4, default=Decimal("0"), db_default=Decimal("0"))
    max_drawdown = models.DecimalField(max_digits=5, decimal_places=4, default=Decimal("0"), db_default=Decimal("0"))
    active_subscriptions = models.IntegerField(default=0, db_default=0)
    created_at = models.DateTimeField(default=timezone.now, db_default=Now(), editable=False)

    class Meta:
        db_table = "bot_performance"
        ordering = ["bot", "-date"]
        constraints = [models.UniqueConstraint(fields=["bot", "date"], name="unique_bot_performance_day")]

    def __str__(self) -> str:
        return f"{self.bot} {self.date}"


class BacktestRunStatus(models.TextChoices):
    QUEUED = "QUEUED", "Waiting for a worker"
    RUNNING = "RUNNING", "Running"
    DONE = "DONE", "Done"
    FAILED = "FAILED", "Failed"


class BacktestRun(models.Model):
    """A backtest a user asked for on a bot's page: one bot version on one shipped candle file, run by a worker.

    Written only by bots.backtest_runs (create, claim, progress, finish). `result` is `BacktestResult.to_json()`
    (stats, trades, the equity curve thinned for the chart); amounts in it are strings (docs/statistics.md).
    """

    Status = BacktestRunStatus

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="backtest_runs")
    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="backtest_runs")
    bot_version = models.ForeignKey(BotVersion, on_delete=models.CASCADE, related_name="backtest_runs")
    # The candle file: data/candles/<exchange>/<BASE>_<QUOTE>-<timeframe>.csv, its last `candle_count` candles.
    exchange = models.CharField(max_length=20)
    symbol = models.CharField(max_length=20)
    timeframe = models.CharField(max_length=5)
    candle_count = models.PositiveIntegerField()
    strategy_config = models.JSONField(default=dict)
    execution_config = models.JSONField(default=dict)
    risk_config = models.JSONField(default=dict)
    starting_balance = models.DecimalField(max_digits=20, decimal_places=8)
    # Fractions of the notional, each side: 0.001 is 0.1 %.
    fee_rate = models.DecimalField(max_digits=8, decimal_places=6)
    slippage_rate = models.DecimalField(max_digits=8, decimal_places=6)

    status = models.CharField(max_length=7, choices=Status.choices, default=Status.QUEUED, db_default="QUEUED")
    # Progress: candles walked out of the candles decided (the warm-up is not counted); 0 / 0 until it starts.
    candles_done = models.PositiveIntegerField(default=0, db_default=0)
    candles_total = models.PositiveIntegerField(default=0, db_default=0)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(default="", db_default="", blank=True)
    # The first and last candle's open time of the data actually used (filled when the run starts).
    first_candle_at = models.DateTimeField(null=True, blank=True)
    last_candle_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_default=Now(), editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "backtest_runs"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "status"], name="idx_backtest_runs_user_status")]
        constraints = [choices_check("status", BacktestRunStatus, "backtest_runs")]

    def __str__(self) -> str:
        return f"{self.bot} on {self.exchange} {self.symbol} {self.timeframe} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (BacktestRunStatus.DONE, BacktestRunStatus.FAILED)

    @property
    def progress_pct(self) -> int:
        """0–100: the share of candles walked (100 once done)."""
        if self.status == BacktestRunStatus.DONE:
            return 100
        if not self.candles_total:
            return 0
        return min(100, self.candles_done * 100 // self.candles_total)
