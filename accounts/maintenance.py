"""Exchange credentials' side of the periodic key check: which keys are due, and how a verdict is stored.

Asking the exchange is trading's work (trading.maintenance, which talks to exchanges through trading.exchanges); the
rows, their compare-and-set and their audit belong here, with the credentials.
"""

from datetime import datetime

from django.db.models import F, Q, QuerySet

from accounts.models import ExchangeCredential
from accounts.services import audit_log_record

V = ExchangeCredential.ValidationStatus

CHECK_FAILED = "The check of this key failed on an internal error ({name}); it is tried again."


def credentials_due(*, only_pending: bool = True) -> QuerySet[ExchangeCredential]:
    """The active credentials to check: those `pending` or edited since their last validation (`updated_at >
    last_validated`); with `only_pending=False`, every active credential."""
    candidates = ExchangeCredential.objects.filter(is_active=True)
    if only_pending:
        candidates = candidates.filter(Q(validation_status=V.PENDING) | Q(updated_at__gt=F("last_validated")))
    return candidates


def credential_check_failure_record(*, pk: int, error: Exception) -> None:
    """Show the owner that the check of key `pk` failed on an internal error (its type only, never its text: it
    may quote the key). The status and `last_validated` are left alone, so the next sweep checks the key again."""
    ExchangeCredential.objects.filter(pk=pk).update(validation_error=CHECK_FAILED.format(name=type(error).__name__))


def credential_verdict_store(*, credential: ExchangeCredential, status: str, error: str, now: datetime) -> bool | None:
    """Store a verdict on the credential as it was read before the exchange call. True when its status changed
    (audited as `credential.validate`), False when it already had that status (the message and time are refreshed),
    None when the row was edited or deleted meanwhile (nothing stored: the verdict is about values that are gone)."""
    # Compare-and-set on updated_at: a key replaced while we were on the network keeps its own status.
    as_checked = ExchangeCredential.objects.filter(pk=credential.pk, updated_at=credential.updated_at)
    # Only the worker whose UPDATE changes the status reports a change (and so stops subscriptions).
    if as_checked.exclude(validation_status=status).update(
        validation_status=status, validation_error=error, last_validated=now
    ):
        audit_log_record(
            actor=None,
            action="credential.validate",
            instance=credential,
            old_values={"validation_status": credential.validation_status},
            new_values={"validation_status": status, "error": error} if error else {"validation_status": status},
        )
        return True
    if as_checked.update(validation_error=error, last_validated=now):
        return False
    return None
