"""Shared pieces of the staff admin (the audited admin is accounts.admin_audit: the audit log is accounts')."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records the platform writes (trades, logs, audit): staff look, nobody edits or deletes by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
