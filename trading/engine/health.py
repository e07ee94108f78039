"""Run failures and their consequences: the owner sees the reason; a subscription that cannot go on is stopped
with status ERROR and its owner is emailed."""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F

from subscriptions.credentials import CredentialUnusable, credential_for, subscriptions_using
from subscriptions.models import Subscription
from subscriptions.services import subscription_transition


def _email_owner(subscription_id: int, subject: str, body: str) -> None:
    subscription = Subscription.objects.select_related("user", "marketplace_registration__partner").get(
        pk=subscription_id
    )
    if subscription.contact_email:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [subscription.contact_email], fail_silently=True)


@transaction.atomic
def run_failed(*, subscription_id: int, message: str, stop: bool = False) -> None:
    """Show `message` on the subscription; with `stop`, move it to ERROR and email the owner after commit."""
    Subscription.objects.filter(pk=subscription_id).update(
        last_error=message[:2000], consecutive_failures=F("consecutive_failures") + 1
    )
    if not stop:
        return
    subscription = Subscription.objects.select_for_update().get(pk=subscription_id)
    if subscription.status not in (Subscription.Status.ACTIVE, Subscription.Status.PAUSED):
        return
    subscription_transition(subscription=subscription, target=Subscription.Status.ERROR, actor=None, reason=message)
    transaction.on_commit(
        lambda: _email_owner(
            subscription_id,
            f"Your bot “{subscription.instance_name}” stopped",
            f"Your subscription “{subscription.instance_name}” was stopped: {message}\n\n"
            "Fix the cause, then resume it from your dashboard.",
        )
    )


def credential_failed(*, subscription_id: int, message: str) -> None:
    """The exchange refused the subscription's key: mark the key invalid and stop every subscription using it."""
    subscription = Subscription.objects.get(pk=subscription_id)
    try:
        credential = credential_for(subscription)
    except CredentialUnusable:
        credential = None
    with transaction.atomic():
        affected = [subscription_id]
        if credential is not None:
            type(credential).objects.filter(pk=credential.pk).update(
                validation_status="invalid", validation_error=message[:2000]
            )
            affected = subscriptions_using(credential) or affected
        for pk in affected:
            run_failed(subscription_id=pk, message=f"The exchange refused your API key: {message}", stop=True)
