import pytest
from django.urls import reverse

from accounts.models import AuditLog
from subscriptions.exceptions import IllegalSubscriptionTransition
from subscriptions.models import Subscription
from subscriptions.services import subscription_cancel, subscription_pause, subscription_resume
from subscriptions.tests.factories import SubscriptionFactory


@pytest.mark.django_db
def test_it_pauses_and_resumes_through_the_transition_map(alice):
    subscription = SubscriptionFactory(user=alice)
    subscription_pause(subscription=subscription, actor=alice)
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.PAUSED
    subscription_resume(subscription=subscription, actor=alice)
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE
    assert list(AuditLog.objects.order_by("id").values_list("action", flat=True)) == [
        "subscription.pause",
        "subscription.resume",
    ]


@pytest.mark.django_db
def test_it_refuses_to_resume_a_cancelled_subscription(alice):
    subscription = SubscriptionFactory(user=alice)
    subscription_cancel(subscription=subscription, actor=alice)
    with pytest.raises(IllegalSubscriptionTransition, match="cannot be resumed"):
        subscription_resume(subscription=subscription, actor=alice)
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CANCELLED
    assert AuditLog.objects.filter(action="subscription.resume").count() == 0


def test_it_pauses_and_resumes_from_the_admin(staff_client, staff):
    active, cancelled = SubscriptionFactory(), SubscriptionFactory(status=Subscription.Status.CANCELLED)
    url = reverse("admin:subscriptions_subscription_changelist")
    response = staff_client.post(
        url, {"action": "pause_selected", "_selected_action": [active.pk, cancelled.pk]}, follow=True
    )
    assert "cannot be paused" in response.content.decode()
    active.refresh_from_db()
    cancelled.refresh_from_db()
    assert active.status == Subscription.Status.PAUSED and cancelled.status == Subscription.Status.CANCELLED
    staff_client.post(url, {"action": "resume_selected", "_selected_action": [active.pk]})
    active.refresh_from_db()
    assert active.status == Subscription.Status.ACTIVE
    assert AuditLog.objects.filter(user=staff, action__startswith="subscription.").count() == 2


def test_it_shows_staff_the_late_and_failing_subscriptions(staff_client):
    from datetime import timedelta

    from django.utils import timezone

    late = SubscriptionFactory(instance_name="Late one", next_run_at=timezone.now() - timedelta(hours=1))
    SubscriptionFactory(instance_name="On time", next_run_at=timezone.now() + timedelta(minutes=30))
    failing = SubscriptionFactory(instance_name="Failing one", last_error="Binance did not answer. Retrying.")
    url = reverse("admin:subscriptions_subscription_changelist")
    html = staff_client.get(url, {"health": "late"}).content.decode()
    assert late.instance_name in html and "On time" not in html
    html = staff_client.get(url, {"health": "failing"}).content.decode()
    assert failing.instance_name in html and "On time" not in html
