from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join

from accounts.admin_audit import AuditedAdmin
from bots.exceptions import BotError
from bots.models import BacktestRun, Bot, BotCategory, BotPerformance, BotReview, BotVersion
from bots.services import bot_approve, bot_reject, bot_version_approve, review_delete
from common.admin import ReadOnlyAdmin


class RejectForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text="The developer reads this: say what to change.",
        max_length=2000,
    )


class BotVersionInline(admin.TabularInline):
    model = BotVersion
    extra = 0
    fields = ("version", "builtin_slug", "code_path", "validation_status", "created_at")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Bot)
class BotAdmin(AuditedAdmin):
    """Bots. Edits (price, name, category...) are audited; moderation and what runs (status, approval, the approved
    version's code and schema mirrored on the bot) change only through the audited actions, so are read-only."""

    list_display = (
        "name",
        "developer",
        "category",
        "bot_type",
        "status",
        "price_per_month",
        "is_free",
        "total_subscribers",
        "average_rating",
        "created_at",
    )
    list_filter = ("status", "bot_type", "category", ("developer", admin.RelatedOnlyFieldListFilter), "is_free")
    search_fields = ("name", "slug", "description", "developer__email", "developer__developer_name")
    list_select_related = ("developer", "category")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = (
        "status",
        "approved_by",
        "approved_at",
        "rejection_reason",
        "version",
        "code_path",
        "model_path",
        "model_metadata",
        "config_schema",
        "default_config",
        "total_subscribers",
        "average_rating",
        "total_reviews",
        "created_at",
        "updated_at",
    )
    inlines = [BotVersionInline]
    actions = ["approve_selected", "reject_selected"]

    @admin.action(description="Approve selected bots", permissions=["change"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[Bot]) -> None:
        approved = 0
        for bot in queryset:
            try:
                bot_approve(bot=bot, actor=request.user, request=request)
                approved += 1
            except BotError as exc:
                self.message_user(request, str(exc), messages.ERROR)
        if approved:
            self.message_user(request, f"Approved {approved} bot(s).", messages.SUCCESS)

    @admin.action(description="Reject selected bots…", permissions=["change"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[Bot]):
        """Ask for the reason first (an intermediate page), then reject every selected bot with it."""
        form = RejectForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            rejected = 0
            for bot in queryset:
                try:
                    bot_reject(bot=bot, actor=request.user, reason=form.cleaned_data["reason"], request=request)
                    rejected += 1
                except BotError as exc:
                    self.message_user(request, str(exc), messages.ERROR)
            if rejected:
                self.message_user(request, f"Rejected {rejected} bot(s).", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Reject bots",
            "bots": queryset,
            "form": form,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/bots/bot/reject.html", context)


@admin.register(BotCategory)
class BotCategoryAdmin(AuditedAdmin):
    list_display = ("name", "slug", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(BotVersion)
class BotVersionAdmin(AuditedAdmin):
    """Uploaded versions. A version is what was validated: its code, schema, validation and approval are read-only
    (approval only through the audited action); staff may fix its changelog (audited). Versions come from uploads,
    never from here."""

    list_display = ("bot", "version", "validation_status", "approved_at", "created_at")
    list_filter = ("validation_status",)
    search_fields = ("bot__name", "version")
    list_select_related = ("bot",)
    readonly_fields = (
        "bot",
        "version",
        "builtin_slug",
        "code_path",
        "model_path",
        "config_schema",
        "default_config",
        "validation_status",
        "validation_report_pretty",
        "approved_at",
        "approved_by",
        "created_at",
    )
    exclude = ("validation_report",)

    def has_add_permission(self, request):
        return False

    @admin.display(description="Validation report")
    def validation_report_pretty(self, version: BotVersion) -> str:
        """The checklist (✓/✗, message, the bot's traceback) and the backtest statistics, escaped."""
        report = version.validation_report
        if not report:
            return "Not validated yet."
        checks = format_html_join(
            "",
            "<li><strong>{} {}</strong>: {}{}</li>",
            (
                (
                    "✓" if check.get("passed") else "✗",
                    check.get("name", ""),
                    check.get("message", ""),
                    format_html("<pre>{}</pre>", check["traceback"]) if check.get("traceback") else "",
                )
                for check in report.get("checks", [])
            ),
        )
        backtests = format_html_join(
            "",
            "<li>{} {}: {} candles, {} trades, stats {}</li>",
            (
                (run.get("market"), run.get("timeframe"), run.get("candles"), run.get("trades"), run.get("stats"))
                for run in report.get("backtests", [])
            ),
        )
        return format_html("<ul>{}</ul><p>Backtests:</p><ul>{}</ul>", checks, backtests)

    actions = ["approve_selected_versions"]

    @admin.action(description="Approve selected versions (subscribers switch to them)", permissions=["change"])
    def approve_selected_versions(self, request: HttpRequest, queryset: QuerySet[BotVersion]) -> None:
        approved = 0
        for version in queryset.select_related("bot"):
            try:
                bot_version_approve(version=version, actor=request.user, request=request)
                approved += 1
            except BotError as exc:
                self.message_user(request, str(exc), messages.ERROR)
        if approved:
            self.message_user(request, f"Approved {approved} version(s).", messages.SUCCESS)


@admin.register(BotReview)
class BotReviewAdmin(admin.ModelAdmin):
    """Reviews: staff read and delete them (moderation, audited by review_delete, which also recounts the bot's
    rating); a review's words and stars are its author's, so nobody edits them here."""

    list_display = ("bot", "user", "rating", "created_at")
    list_filter = ("rating",)
    search_fields = ("bot__name", "user__email", "text")
    list_select_related = ("bot", "user")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request: HttpRequest, obj: BotReview) -> None:
        review_delete(review=obj, actor=request.user, request=request)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[BotReview]) -> None:
        for review in queryset.select_related("bot"):
            review_delete(review=review, actor=request.user, request=request)


@admin.register(BotPerformance)
class BotPerformanceAdmin(ReadOnlyAdmin):
    list_display = ("bot", "date", "total_trades", "winning_trades", "total_pnl", "win_rate", "max_drawdown")
    list_filter = ("date",)
    search_fields = ("bot__name",)
    list_select_related = ("bot",)


@admin.register(BacktestRun)
class BacktestRunAdmin(ReadOnlyAdmin):
    """Users' backtest runs, for support: read-only (a run is started and finished by the worker only)."""

    list_display = ("pk", "user", "bot", "exchange", "symbol", "timeframe", "candle_count", "status", "created_at")
    list_filter = ("status", "timeframe")
    search_fields = ("user__email", "bot__name", "symbol")
    list_select_related = ("user", "bot")
