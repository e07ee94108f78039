from datetime import timedelta

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.admin_audit import AuditedAdmin
from common.admin import ReadOnlyAdmin
from subscriptions.exceptions import SubscriptionError
from subscriptions.models import PerformanceLog, Subscription, Trade
from subscriptions.services import subscription_pause, subscription_resume


class RunHealthFilter(admin.SimpleListFilter):
    """Active subscriptions whose run is overdue (worker down, exchange unreachable) or that stopped on an error."""

    title = "run health"
    parameter_name = "health"

    def lookups(self, request, model_admin):
        return [
            ("late", "Late (no run for 5+ minutes past due)"),
            ("error", "Stopped by an error"),
            ("failing", "Last run failed"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "late":
            cutoff = timezone.now() - timedelta(minutes=5)
            return queryset.filter(status=Subscription.Status.ACTIVE, next_run_at__lt=cutoff)
        if self.value() == "error":
            return queryset.filter(status=Subscription.Status.ERROR)
        if self.value() == "failing":
            return queryset.exclude(last_error="")
        return queryset


@admin.register(Subscription)
class SubscriptionAdmin(AuditedAdmin):
    list_display = (
        "instance_name",
        "user",
        "bot",
        "exchange_type",
        "trading_pair",
        "timeframe",
        "network_type",
        "status",
        "total_trades",
        "winning_trades",
        "total_pnl",
        "last_run_at",
        "next_run_at",
    )
    list_filter = (
        RunHealthFilter,
        "status",
        "is_paper",
        "exchange_type",
        "network_type",
        "trade_mode",
        "timeframe",
        "is_trial",
    )
    search_fields = ("instance_name", "user__email", "bot__name", "trading_pair", "user_principal_id")
    list_select_related = ("user", "bot")
    readonly_fields = (
        # The version it runs follows the bot's approved versions (bots.services), never a hand pick.
        "bot_version",
        "last_error",
        "consecutive_failures",
        "last_candle_at",
        "completed_candle_at",
        "status",
        "status_reason",
        "total_trades",
        "winning_trades",
        "total_pnl",
        "last_run_at",
        "next_run_at",
    )
    raw_id_fields = ("user", "bot")
    actions = ["pause_selected", "resume_selected"]

    def _apply(self, request: HttpRequest, queryset: QuerySet[Subscription], service, verb: str) -> None:
        done = 0
        for subscription in queryset:
            try:
                service(subscription=subscription, actor=request.user, request=request)
                done += 1
            except SubscriptionError as exc:
                self.message_user(request, str(exc), messages.WARNING)
        if done:
            self.message_user(request, f"{verb} {done} subscription(s).", messages.SUCCESS)

    @admin.action(description="Pause selected subscriptions", permissions=["change"])
    def pause_selected(self, request, queryset):
        self._apply(request, queryset, subscription_pause, "Paused")

    @admin.action(description="Resume selected subscriptions", permissions=["change"])
    def resume_selected(self, request, queryset):
        self._apply(request, queryset, subscription_resume, "Resumed")


@admin.register(Trade)
class TradeAdmin(ReadOnlyAdmin):
    list_display = (
        "subscription",
        "side",
        "trading_pair",
        "quantity",
        "entry_price",
        "exit_price",
        "pnl",
        "pnl_percentage",
        "status",
        "entry_time",
        "exit_time",
    )
    list_filter = ("status", "side", "trading_pair")
    search_fields = ("trading_pair", "exchange_order_id", "exchange_trade_id", "subscription__instance_name")
    date_hierarchy = "entry_time"
    list_select_related = ("subscription__bot",)


@admin.register(PerformanceLog)
class PerformanceLogAdmin(ReadOnlyAdmin):
    list_display = ("subscription", "action", "timestamp", "price", "quantity", "balance")
    list_filter = ("action",)
    search_fields = ("subscription__instance_name",)
    date_hierarchy = "timestamp"
    list_select_related = ("subscription__bot",)
