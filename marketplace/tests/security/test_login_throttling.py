"""Login lockouts (django-axes, accounts.login_lockout): one policy for the site's and the admin's login forms,
counting failures per account and per client independently; staff see and lift lockouts."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditLog
from accounts.tests.factories import PASSWORD, StaffFactory, UserFactory

SITE_LOGIN = reverse("accounts:login")
ADMIN_LOGIN = reverse("admin:login")
LIMIT = settings.AXES_FAILURE_LIMIT

pytestmark = pytest.mark.django_db


def attempt(client, email: str, password: str, ip: str = "198.51.100.7", url: str = SITE_LOGIN, **extra):
    return client.post(url, {"username": email, "password": password}, REMOTE_ADDR=ip, **extra)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_the_policy_is_five_failures_in_fifteen_minutes_by_default():
    assert LIMIT == 5
    assert timedelta(minutes=15) == settings.AXES_COOLOFF_TIME
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username"], ["ip_address"]]


def test_it_says_wrong_password_below_the_limit(client, alice):
    for n in range(LIMIT - 1):
        response = attempt(client, "alice@example.com", f"wrong-{n}")
        assert response.status_code == 200 and "Wrong email or password." in response.content.decode()
    assert attempt(client, "alice@example.com", PASSWORD).status_code == 302


def test_it_locks_an_account_tried_from_many_addresses(client, alice):
    for n in range(LIMIT - 1):
        assert attempt(client, "alice@example.com", f"wrong-{n}", ip=f"203.0.113.{n + 1}").status_code == 200
    assert attempt(client, "alice@example.com", "wrong-last", ip="203.0.113.99").status_code == 429
    # The right password, from an address never seen before, is refused too while the account is locked.
    response = attempt(client, "alice@example.com", PASSWORD, ip="192.0.2.200")
    assert response.status_code == 429 and not logged_in(client)


def test_it_counts_every_spelling_of_an_email_as_one_account(client, alice):
    spellings = ["alice@example.com", "ALICE@example.com", " Alice@Example.com", "alice@EXAMPLE.COM ", "aLiCe@ex"
                 "ample.com"]
    for n, spelling in enumerate(spellings[:LIMIT]):
        response = attempt(client, spelling, "wrong", ip=f"203.0.113.{n + 1}")
    assert response.status_code == 429
    assert attempt(client, "alice@example.com", PASSWORD, ip="192.0.2.1").status_code == 429


def test_it_locks_a_client_that_tries_many_emails(client, bob):
    for n in range(LIMIT):
        response = attempt(client, f"someone{n}@example.com", "guess", ip="198.51.100.66")
    assert response.status_code == 429
    # Bob's right password from that address is refused; from his own address he is not locked.
    assert attempt(client, "bob@example.com", PASSWORD, ip="198.51.100.66").status_code == 429
    assert not logged_in(client)
    assert attempt(client, "bob@example.com", PASSWORD, ip="192.0.2.50").status_code == 302


def test_the_admin_login_counts_and_is_locked(client):
    staff = StaffFactory(email="boss@example.com")
    for n in range(LIMIT - 1):
        response = attempt(client, staff.email, f"wrong-{n}", url=ADMIN_LOGIN, ip=f"203.0.113.{n + 1}")
        assert response.status_code == 200
    assert attempt(client, staff.email, "wrong", url=ADMIN_LOGIN, ip="203.0.113.77").status_code == 429
    response = attempt(client, staff.email, PASSWORD, url=ADMIN_LOGIN, ip="192.0.2.9")
    assert response.status_code == 429 and not logged_in(client)
    # One policy: the site's own form refuses the same account.
    assert attempt(client, staff.email, PASSWORD, ip="192.0.2.10").status_code == 429


def test_failures_on_both_forms_add_up(client, alice):
    for n in range(LIMIT - 1):
        url = SITE_LOGIN if n % 2 else ADMIN_LOGIN
        assert attempt(client, "alice@example.com", "wrong", url=url, ip=f"203.0.113.{n + 1}").status_code == 200
    assert attempt(client, "alice@example.com", "wrong", url=ADMIN_LOGIN).status_code == 429


def test_the_lockout_page_is_a_429_that_says_when_to_retry(client, alice):
    for _ in range(LIMIT - 1):
        attempt(client, "alice@example.com", "wrong")
    before = timezone.now()
    response = attempt(client, "alice@example.com", "wrong")
    assert response.status_code == 429
    assert response["Retry-After"] == str(15 * 60)
    page = response.content.decode()
    assert "Too many failed logins" in page and "locked for 15 minutes" in page
    retry_at = before + timedelta(minutes=15)
    assert retry_at.strftime("%H:%M") in page or (retry_at + timedelta(minutes=1)).strftime("%H:%M") in page
    assert reverse("accounts:password_reset") in page
    assert PASSWORD not in page and "wrong" not in page


def test_it_lets_the_account_in_again_after_the_cool_off(client, alice):
    for _ in range(LIMIT):
        attempt(client, "alice@example.com", "wrong")
    assert attempt(client, "alice@example.com", PASSWORD).status_code == 429
    # Sixteen minutes later (the attempts' clock moved back instead of sleeping).
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert attempt(client, "alice@example.com", PASSWORD).status_code == 302


def test_a_success_forgets_the_accounts_own_failures(client, alice):
    for n in range(LIMIT - 1):
        attempt(client, "alice@example.com", f"wrong-{n}")
    assert attempt(client, "alice@example.com", PASSWORD).status_code == 302
    client.post(reverse("accounts:logout"))
    for n in range(LIMIT - 1):
        response = attempt(client, "alice@example.com", f"wrong-{n}", ip=f"203.0.113.{n + 1}")
    assert response.status_code == 200


def test_a_success_with_ones_own_account_does_not_reset_the_clients_count(client, alice):
    mallory = UserFactory(email="mallory@example.com")
    for n in range(LIMIT - 1):
        attempt(client, f"victim{n}@example.com", "guess", ip="198.51.100.66")
    assert attempt(client, mallory.email, PASSWORD, ip="198.51.100.66").status_code == 302
    client.post(reverse("accounts:logout"))
    assert attempt(client, "alice@example.com", "guess", ip="198.51.100.66").status_code == 429


def test_it_ignores_a_forged_forwarded_for_without_trusted_proxies(client, alice):
    for n in range(LIMIT):
        response = attempt(client, f"someone{n}@example.com", "guess", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
    assert response.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.7"}


def test_it_reads_the_client_behind_a_trusted_proxy(client, settings, alice):
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(LIMIT):
        # The proxy (REMOTE_ADDR 10.0.0.1) appends the real client; what the client put before it is ignored.
        response = attempt(
            client, f"someone{n}@example.com", "guess", ip="10.0.0.1", HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, 203.0.113.5"
        )
    assert response.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.5"}
    # Another client behind the same proxy is not locked by that one.
    response = attempt(client, "alice@example.com", PASSWORD, ip="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.6")
    assert response.status_code == 302


@pytest.fixture
def anon():
    """A second browser, not logged in (staff_client is pytest-django's `client`)."""
    return Client()


def lock_alice(client):
    for n in range(LIMIT):
        attempt(client, "alice@example.com", "wrong", ip=f"203.0.113.{n + 1}")
    assert attempt(client, "alice@example.com", PASSWORD, ip="192.0.2.1").status_code == 429


def test_staff_see_lockouts(staff_client, anon, alice):
    lock_alice(anon)
    changelist = reverse("admin:axes_accessattempt_changelist")
    # Alice's five failures came from five addresses: each row has one, and together they lock her account.
    response = staff_client.get(changelist, {"locked_out": "yes"})
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("alice@example.com") >= LIMIT and "Account locked" in page
    assert PASSWORD not in page
    assert not AccessAttempt.objects.filter(post_data__contains=PASSWORD).exists()
    response = staff_client.get(changelist, {"locked_out": "no"})
    assert "alice@example.com" not in response.content.decode()
    assert staff_client.get(reverse("admin:axes_accessfailurelog_changelist")).status_code == 200
    assert staff_client.get(reverse("admin:axes_accesslog_changelist")).status_code == 200


def test_staff_lift_a_lockout_with_the_admin_action(staff_client, staff, anon, alice):
    lock_alice(anon)
    attempts = list(AccessAttempt.objects.filter(username="alice@example.com").values_list("pk", flat=True))
    response = staff_client.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "lift_selected", "_selected_action": attempts},
        follow=True,
    )
    assert f"Lifted {len(attempts)} login lockout record(s)." in response.content.decode()
    assert not AccessAttempt.objects.filter(username="alice@example.com").exists()
    lifts = AuditLog.objects.filter(action="login.lockout_lift")
    assert lifts.count() == len(attempts) and {row.user for row in lifts} == {staff}
    assert {row.old_values["username"] for row in lifts} == {"alice@example.com"}
    assert attempt(anon, "alice@example.com", PASSWORD, ip="192.0.2.1").status_code == 302


def test_staff_lift_a_lockout_by_deleting_the_attempt(staff_client, staff, anon, alice):
    for _ in range(LIMIT):
        attempt(anon, "alice@example.com", "wrong")
    row = AccessAttempt.objects.get(username="alice@example.com")
    response = staff_client.post(reverse("admin:axes_accessattempt_delete", args=[row.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert AuditLog.objects.get(action="login.lockout_lift", record_id=row.pk).user == staff
    assert attempt(anon, "alice@example.com", PASSWORD).status_code == 302


def test_traders_cannot_see_or_lift_lockouts(client, alice, bob):
    lock_alice(client)
    client.force_login(bob)
    response = client.get(reverse("admin:axes_accessattempt_changelist"))
    assert response.status_code == 302 and ADMIN_LOGIN in response["Location"]
    assert AccessAttempt.objects.exists()


@pytest.mark.parametrize("variable, value", [("TRUSTED_PROXY_COUNT", "-1"), ("TRUSTED_PROXY_COUNT", "two"),
                                             ("LOGIN_FAILURE_LIMIT", "0")])
def test_it_refuses_a_bad_lockout_setting_at_start(variable, value):
    from marketplace.tests.test_settings import _settings

    result = _settings("marketplace.settings.base", **{variable: value})
    assert result.returncode != 0
    assert variable in result.stderr or "invalid literal for int()" in result.stderr
