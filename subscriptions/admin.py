from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from subscriptions.exceptions import SubscriptionError
from subscriptions.models import Subscription
from subscriptions.services import subscription_pause, subscription_resume


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
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
    list_filter = ("status", "exchange_type", "network_type", "trade_mode", "timeframe", "is_trial")
    search_fields = ("instance_name", "user__email", "bot__name", "trading_pair", "user_principal_id")
    list_select_related = ("user", "bot")
    readonly_fields = (
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
