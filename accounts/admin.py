from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from accounts.models import AuditLog, ExchangeCredential, User
from accounts.validators import person_email_validate
from marketplace.admin_utils import ReadOnlyAdmin


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
class UserAdmin(DjangoUserAdmin):
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


@admin.register(ExchangeCredential)
class ExchangeCredentialAdmin(admin.ModelAdmin):
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


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ("timestamp", "action", "user", "table_name", "record_id", "ip_address")
    list_filter = ("action", "table_name")
    search_fields = ("action", "user__email", "table_name")
    date_hierarchy = "timestamp"
    list_select_related = ("user",)
