from axes.admin import AccessAttemptAdmin as AxesAccessAttemptAdmin
from axes.admin import AccessFailureLogAdmin as AxesAccessFailureLogAdmin
from axes.admin import AccessLogAdmin as AxesAccessLogAdmin
from axes.helpers import get_cool_off
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db import transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone

from accounts.admin_audit import AuditedAdmin
from accounts.models import AuditLog, ExchangeCredential, User
from accounts.services import credential_delete, login_lockout_lift, user_password_change_record
from accounts.validators import person_email_validate
from common.admin import ReadOnlyAdmin


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "role")

    def clean_email(self) -> str:
        # Staff create people here; principals' users are created by the partner API alone (accounts.validators).
        return person_email_validate(self.cleaned_data["email"])


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"

    def clean_email(self) -> str:
        # A principal's user keeps its placeholder address; no account may be moved into the reserved domain.
        email = self.cleaned_data["email"]
        if "email" in self.changed_data:
            person_email_validate(email)
        return email


@admin.register(User)
class UserAdmin(AuditedAdmin, DjangoUserAdmin):
    """Users. Every change (role, superuser, activation, permissions...) is audited with its old and new values;
    a password set here is audited as the fact only."""

    form = UserEditForm
    add_form = UserCreationForm
    list_display = ("email", "role", "developer_name", "is_active", "has_api_key", "created_at", "last_login")
    list_filter = ("role", "is_active")
    search_fields = ("email", "developer_name", "user_principal_id")
    ordering = ("-created_at",)
    readonly_fields = ("created_at", "updated_at", "last_login", "has_api_key")
    fieldsets = (
        (None, {"fields": ("email", "password", "role", "is_active")}),
        ("Developer profile", {"fields": ("developer_name", "developer_bio", "developer_website")}),
        ("Marketplace", {"fields": ("user_principal_id", "has_api_key")}),
        ("Permissions", {"fields": ("is_superuser", "groups", "user_permissions"), "classes": ("collapse",)}),
        ("Dates", {"fields": ("last_login", "created_at", "updated_at")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "role", "password1", "password2")}),)
    filter_horizontal = ("groups", "user_permissions")

    @admin.display(boolean=True, description="API key")
    def has_api_key(self, obj: User) -> bool:
        # Only whether a key exists: the stored value is a hash and is never shown.
        return bool(obj.api_key)

    def user_change_password(self, request: HttpRequest, id, form_url=""):
        # Atomic: the new password and its audit row land together.
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            # On a POST Django's view redirects after it saved the new password (or disabled password logins), or
            # when the user does not exist (then there is nothing to audit).
            user = self.get_object(request, id) if request.method == "POST" and response.status_code == 302 else None
            if user is not None:
                user_password_change_record(user=user, actor=request.user, how="admin_set", request=request)
        return response


@admin.register(ExchangeCredential)
class ExchangeCredentialAdmin(AuditedAdmin):
    """Credentials are masked here and never decrypted: staff see whose key it is and whether it works."""

    list_display = (
        "user",
        "principal_id",
        "exchange",
        "masked_key",
        "is_testnet",
        "is_active",
        "validation_status",
        "last_validated",
        "created_at",
    )
    list_filter = ("exchange", "is_testnet", "is_active", "validation_status")
    search_fields = ("user__email", "principal_id")
    list_select_related = ("user",)
    fields = (
        "user",
        "principal_id",
        "exchange",
        "masked_key",
        "is_testnet",
        "is_active",
        "validation_status",
        "validation_error",
        "last_validated",
        "created_at",
        "updated_at",
    )
    readonly_fields = (
        "user",
        "principal_id",
        "exchange",
        "masked_key",
        "is_testnet",
        "validation_status",
        "validation_error",
        "last_validated",
        "created_at",
        "updated_at",
    )

    def has_add_permission(self, request):
        return False  # only owners add keys, through their own pages or the API

    @admin.display(description="API key")
    def masked_key(self, obj: ExchangeCredential) -> str:
        return obj.masked_key

    def delete_model(self, request: HttpRequest, obj: ExchangeCredential) -> None:
        credential_delete(credential=obj, actor=request.user, request=request)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ExchangeCredential]) -> None:
        for credential in queryset:
            credential_delete(credential=credential, actor=request.user, request=request)


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ("timestamp", "action", "user", "table_name", "record_id", "ip_address")
    list_filter = ("action", "table_name")
    search_fields = ("action", "user__email", "table_name")
    date_hierarchy = "timestamp"
    list_select_related = ("user",)


# axes registers its own admins: ours lift lockouts through the audited service, and keep its logs read-only.
admin.site.unregister(AccessAttempt)
admin.site.unregister(AccessLog)
admin.site.unregister(AccessFailureLog)


class _ReadOnlyLogMixin:
    """axes' login logs are records, like the audit log: staff read them, nobody edits or deletes them by hand."""

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AccessLog)
class AccessLogAdmin(_ReadOnlyLogMixin, AxesAccessLogAdmin):
    pass


@admin.register(AccessFailureLog)
class AccessFailureLogAdmin(_ReadOnlyLogMixin, AxesAccessFailureLogAdmin):
    pass


class LockedOutFilter(admin.SimpleListFilter):
    """Whether a row's account or address is locked now (the policy counts both; axes' own filter looks at one
    row, which never reaches the limit when the failures came from many addresses)."""

    title = "locked out"
    parameter_name = "locked_out"

    def lookups(self, request, model_admin):
        return [("yes", "Yes: its account or its address"), ("no", "No")]

    def queryset(self, request, queryset):
        limit = settings.AXES_FAILURE_LIMIT
        locked = Q(account_failures__gte=limit) | Q(client_failures__gte=limit)
        if self.value() == "yes":
            return queryset.filter(locked)
        if self.value() == "no":
            return queryset.exclude(locked)
        return queryset


def _failures_within_cool_off(field: str) -> Coalesce:
    """The failures of the row's `field` (username or ip_address) over every row within the cool-off: the count
    the lockout policy compares with the limit."""
    since = timezone.now() - get_cool_off()
    rows = (
        AccessAttempt.objects.filter(**{field: OuterRef(field)}, attempt_time__gte=since)
        .order_by()
        .values(field)
        .annotate(total=Sum("failures_since_start"))
        .values("total")[:1]
    )
    return Coalesce(Subquery(rows), 0)


@admin.register(AccessAttempt)
class AccessAttemptAdmin(AxesAccessAttemptAdmin):
    """Failed-login counters (django-axes): one row per email, address and browser. An account or an address whose
    failures within the cool-off reach the limit is locked; deleting its rows (the "Lift" action, or Delete) lifts
    the lock, audited. Staff with the delete permission on access attempts may do it, not only superusers."""

    list_display = [
        "attempt_time",
        "ip_address",
        "username",
        "path_info",
        "failures_since_start",
        "account_status",
        "client_status",
    ]
    list_filter = ["attempt_time", "path_info", LockedOutFilter]
    actions = ["lift_selected", "cleanup_expired_attempts"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AccessAttempt]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                account_failures=_failures_within_cool_off("username"),
                client_failures=_failures_within_cool_off("ip_address"),
            )
        )

    @admin.display(description="account")
    def account_status(self, obj: AccessAttempt) -> str:
        failures = getattr(obj, "account_failures", 0)
        return "Account locked" if failures >= settings.AXES_FAILURE_LIMIT else f"{failures} failure(s)"

    @admin.display(description="address")
    def client_status(self, obj: AccessAttempt) -> str:
        failures = getattr(obj, "client_failures", 0)
        return "Address locked" if failures >= settings.AXES_FAILURE_LIMIT else f"{failures} failure(s)"

    @admin.action(description="Lift the lockout of the selected attempts", permissions=["delete"])
    def lift_selected(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        lifted = login_lockout_lift(attempts=queryset, actor=request.user, request=request)
        self.message_user(request, f"Lifted {lifted} login lockout record(s).", messages.SUCCESS)

    def delete_model(self, request: HttpRequest, obj: AccessAttempt) -> None:
        login_lockout_lift(attempts=[obj], actor=request.user, request=request)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        login_lockout_lift(attempts=queryset, actor=request.user, request=request)
