"""Records of operator jobs, so staff see the latest integrity check and backup without reading logs."""

from django.db import models


class Trigger(models.TextChoices):
    COMMAND = "command", "manage.py"
    SCHEDULE = "schedule", "Scheduled (Celery beat)"


class IntegrityCheckRun(models.Model):
    """One run of `manage.py integrity_check` (or its scheduled task): what it found and, with --fix, repaired.

    `findings` is a list of {"check": name, "count": rows found, "detail": text, "fixed": rows repaired}.
    """

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    ok = models.BooleanField(help_text="True when no check found anything wrong (after fixes, with --fix).")
    fix = models.BooleanField(default=False, help_text="Run with --fix.")
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.COMMAND)
    findings = models.JSONField(default=list)

    class Meta:
        db_table = "ops_integrity_checks"
        ordering = ["-started_at"]
        get_latest_by = "started_at"

    def __str__(self) -> str:
        return f"integrity check {self.started_at:%Y-%m-%d %H:%M} {'ok' if self.ok else 'PROBLEMS'}"


class BackupRecord(models.Model):
    """One backup made by `manage.py backup` (or its scheduled task), and where it went."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(default=False)
    engine = models.CharField(max_length=16, help_text="mysql or sqlite")
    location = models.CharField(max_length=500, blank=True, help_text="A file path or a storage key.")
    size_bytes = models.BigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, help_text="The failure's class and message; never a password or key.")
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.COMMAND)
    pruned = models.PositiveIntegerField(default=0, help_text="Old backups removed by retention after this one.")

    class Meta:
        db_table = "ops_backups"
        ordering = ["-started_at"]
        get_latest_by = "started_at"

    def __str__(self) -> str:
        return f"backup {self.started_at:%Y-%m-%d %H:%M} {'ok' if self.ok else 'FAILED'}"
