"""Staff's view of partner registrations. Activation changes only through the partner API's own service."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.admin_audit import AuditedAdmin
from partners.exceptions import PartnerError
from partners.models import BotMarketplaceRegistration
from partners.services import registration_deactivate


@admin.register(BotMarketplaceRegistration)
class BotMarketplaceRegistrationAdmin(AuditedAdmin):
    """Partner registrations (docs/partner-api.md). Activation changes only through the deactivate action, which
    calls the partner API's own service; the key's hash is never shown."""

    list_display = (
        "marketplace_name",
        "bot",
        "partner",
        "user_principal_id",
        "status",
        "price_on_marketplace",
        "commission_rate",
        "is_featured",
        "is_active",
        "registered_at",
    )
    list_filter = ("status", "is_active", "is_featured")
    search_fields = ("marketplace_name", "user_principal_id", "bot__name", "partner__email")
    list_select_related = ("bot", "partner")
    # api_key is a hash and not editable: it never appears here.
    exclude = ("api_key",)
    readonly_fields = ("partner", "user_principal_id", "bot", "status", "is_active", "registered_at")
    actions = ["deactivate_selected"]

    def has_add_permission(self, request):
        return False  # registrations are made through the partner API, which shows the key once

    @admin.action(
        description="Deactivate selected registrations (their keys stop working at once)", permissions=["change"]
    )
    def deactivate_selected(self, request: HttpRequest, queryset: QuerySet[BotMarketplaceRegistration]) -> None:
        deactivated = 0
        for registration in queryset:
            try:
                registration_deactivate(registration=registration, actor=request.user, request=request)
                deactivated += 1
            except PartnerError as exc:
                self.message_user(request, f"{registration}: {exc}", messages.ERROR)
        if deactivated:
            self.message_user(request, f"Deactivated {deactivated} registration(s).", messages.SUCCESS)
