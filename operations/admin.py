from django.contrib import admin

from common.admin import ReadOnlyAdmin
from operations.models import BackupRecord, IntegrityCheckRun


@admin.register(IntegrityCheckRun)
class IntegrityCheckRunAdmin(ReadOnlyAdmin):
    list_display = ("started_at", "ok", "fix", "trigger")
    list_filter = ("ok", "fix", "trigger")
    date_hierarchy = "started_at"


@admin.register(BackupRecord)
class BackupRecordAdmin(ReadOnlyAdmin):
    list_display = ("started_at", "ok", "engine", "location", "size_bytes", "trigger")
    list_filter = ("ok", "engine", "trigger")
    date_hierarchy = "started_at"
