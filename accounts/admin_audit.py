"""The audited staff admin: every add, change and delete by staff writes one audit row (accounts.AuditLog)."""

import datetime
import decimal
import uuid

from django.contrib import admin
from django.db import models, transaction
from django.http import HttpRequest

from accounts.services import audit_log_record
from common.admin import ReadOnlyAdmin  # noqa: F401 (re-exported: the admin helpers apps import from here)

# Field names whose values never enter the audit log (hashes, encrypted keys): a change is recorded, not the value.
SECRET_FIELD_PARTS = ("password", "api_key", "secret", "passphrase", "_encrypted", "token")
HIDDEN = "[hidden]"


def audit_value(value):
    """`value` as plain JSON for an audit row: a row is its primary key, many rows a sorted list of them, Decimal
    money a string (exact), times ISO 8601."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, (models.QuerySet, list, tuple, set)):
        return sorted(audit_value(item) for item in value)
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool, dict)) or value is None:
        return value
    return str(value)


def _is_secret(name: str) -> bool:
    return any(part in name for part in SECRET_FIELD_PARTS)


class AuditedAdmin(admin.ModelAdmin):
    """An admin whose every add, change and delete by staff writes one audit row (accounts.AuditLog): the actor,
    the row, and each changed field's old and new value (`<model>.admin_create`, `.admin_change`, `.admin_delete`).

    Values of fields named like secrets (SECRET_FIELD_PARTS: password hashes, API key hashes, encrypted keys) are
    never stored, only that they changed. Workflows with their own audited service (approval, review deletion) do
    not come through here: their fields are read-only and their admin actions call the service.
    """

    def _model_field_names(self, obj) -> set[str]:
        return {field.name for field in obj._meta.get_fields() if not field.auto_created or field.concrete}

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        fields = self._model_field_names(obj)
        changed = [name for name in form.changed_data if name in fields]
        if change and not changed:
            return
        old_values = (
            {name: HIDDEN if _is_secret(name) else audit_value(form.initial.get(name)) for name in changed}
            if change
            else None
        )
        new_values = {
            name: HIDDEN if _is_secret(name) else audit_value(form.cleaned_data.get(name)) for name in changed
        }
        audit_log_record(
            actor=request.user,
            action=f"{obj._meta.model_name}.admin_{'change' if change else 'create'}",
            instance=obj,
            old_values=old_values,
            new_values=new_values,
            request=request,
        )

    def audit_delete(self, request: HttpRequest, obj) -> None:
        """Record that staff deleted `obj`, with the values it had (secrets left out)."""
        old_values = {
            field.attname: audit_value(field.value_from_object(obj))
            for field in obj._meta.concrete_fields
            if not _is_secret(field.name)
        }
        audit_log_record(
            actor=request.user,
            action=f"{obj._meta.model_name}.admin_delete",
            instance=obj,
            old_values=old_values,
            request=request,
        )

    def delete_model(self, request: HttpRequest, obj) -> None:
        with transaction.atomic():
            self.audit_delete(request, obj)
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        # Atomic: the audit rows and the deletion land together or not at all (the bulk action is not atomic).
        with transaction.atomic():
            for obj in queryset:
                self.audit_delete(request, obj)
            super().delete_queryset(request, queryset)
