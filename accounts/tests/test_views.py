"""Account pages: sign up, log in and out, password reset, profile, API key. (Login lockouts:
marketplace/tests/security/test_login_throttling.py.)"""

import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts import api_keys
from accounts.models import AuditLog, User
from accounts.tests.factories import PASSWORD

SIGNUP = reverse("accounts:signup")
LOGIN = reverse("accounts:login")


@pytest.mark.django_db
def test_it_signs_up_a_trader_and_logs_them_in(client):
    response = client.post(
        SIGNUP,
        {"email": "Carol@Example.com", "password1": "a-long-passphrase-42", "password2": "a-long-passphrase-42",
         "role": "USER"},
    )
    assert response.status_code == 302 and response["Location"] == reverse("bots:catalog")
    carol = User.objects.get(email="carol@example.com")
    assert carol.role == User.Role.USER and carol.check_password("a-long-passphrase-42")
    assert AuditLog.objects.filter(action="user.create", record_id=carol.pk).exists()
    assert client.get(reverse("subscriptions:dashboard")).status_code == 200


@pytest.mark.django_db
def test_it_signs_up_a_developer(client):
    client.post(
        SIGNUP,
        {"email": "quant@example.com", "password1": "a-long-passphrase-42", "password2": "a-long-passphrase-42",
         "role": "DEVELOPER"},
    )
    assert User.objects.get(email="quant@example.com").role == User.Role.DEVELOPER


@pytest.mark.django_db
def test_it_refuses_bad_signups_without_storing_anything(client, alice):
    cases = [
        ({"email": "alice@example.com"}, "email", "exists already"),
        ({"password2": "something-else-42"}, "password2", "differ"),
        ({"password1": "short", "password2": "short"}, "password1", "too short"),
        ({"role": "ADMIN"}, "role", "Select a valid choice"),
        ({"email": "not-an-email"}, "email", "valid email"),
    ]
    for override, field, message in cases:
        data = {"email": "dave@example.com", "password1": "a-long-passphrase-42", "password2": "a-long-passphrase-42",
                "role": "USER"} | override
        response = client.post(SIGNUP, data)
        assert response.status_code == 200
        assert message in " ".join(response.context["form"].errors[field])
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_it_logs_in_by_email_and_out_by_post(client, alice):
    response = client.post(LOGIN, {"username": "ALICE@example.com", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("subscriptions:dashboard")
    assert client.get(reverse("accounts:logout")).status_code == 405  # logging out is a POST
    response = client.post(reverse("accounts:logout"))
    assert response["Location"] == reverse("bots:catalog")
    assert client.get(reverse("subscriptions:dashboard")).status_code == 302


@pytest.mark.django_db
def test_it_resets_a_password_by_email(client, alice):
    response = client.post(reverse("accounts:password_reset"), {"email": "alice@example.com"})
    assert response["Location"] == reverse("accounts:password_reset_done")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["alice@example.com"]
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    response = client.get(link, follow=True)
    assert "Choose a new password" in response.content.decode()
    response = client.post(
        response.redirect_chain[-1][0], {"new_password1": "brand-new-pass-77", "new_password2": "brand-new-pass-77"}
    )
    assert response["Location"] == reverse("accounts:password_reset_complete")
    alice.refresh_from_db()
    assert alice.check_password("brand-new-pass-77")
    # An unknown address gets the same answer and no mail: the form does not reveal who has an account.
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.com"})
    assert response["Location"] == reverse("accounts:password_reset_done") and len(mail.outbox) == 1


@pytest.mark.django_db
def test_it_edits_the_developer_profile(client, dev):
    client.force_login(dev)
    url = reverse("accounts:profile")
    assert "Developer profile" in client.get(url).content.decode()
    response = client.post(url, {"developer_name": "Quant Street", "developer_bio": "Trend.",
                                 "developer_website": "not a url"})
    assert response.status_code == 200 and "developer_website" in response.context["form"].errors
    dev.refresh_from_db()
    assert dev.developer_name == "Quant Studio"
    client.post(url, {"developer_name": "Quant Street", "developer_bio": "Trend.",
                      "developer_website": "https://quant.example"})
    dev.refresh_from_db()
    assert (dev.developer_name, dev.developer_website) == ("Quant Street", "https://quant.example")
    assert AuditLog.objects.get(action="user.profile_update").old_values == {
        "developer_name": "Quant Studio", "developer_bio": None, "developer_website": None,
    }


@pytest.mark.django_db
def test_it_gives_traders_no_developer_form(client, alice):
    client.force_login(alice)
    url = reverse("accounts:profile")
    assert "Developer profile" not in client.get(url).content.decode()
    client.post(url, {"developer_name": "Sneaky"})
    alice.refresh_from_db()
    assert alice.developer_name is None


@pytest.mark.django_db
def test_it_shows_a_new_api_key_once_and_revokes_it(client, alice):
    client.force_login(alice)
    url = reverse("accounts:api_key")
    assert "You have no API key." in client.get(url).content.decode()
    response = client.post(url)
    clear_key = response.context["clear_key"]
    assert clear_key in response.content.decode() and response["Cache-Control"].startswith("no-store")
    alice.refresh_from_db()
    assert alice.api_key == api_keys.hash_key(clear_key)
    page = client.get(url).content.decode()
    assert clear_key not in page and "You have an active API key." in page
    client.post(reverse("accounts:api_key_revoke"))
    alice.refresh_from_db()
    assert alice.api_key is None
    assert [a for a in AuditLog.objects.order_by("pk").values_list("action", flat=True)] == [
        "user.api_key_create", "user.api_key_revoke",
    ]


@pytest.mark.django_db
def test_it_sends_anonymous_visitors_to_log_in(client):
    for name in ("profile", "api_key", "credentials", "password_change"):
        url = reverse(f"accounts:{name}")
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == f"{LOGIN}?next={url}"
    client.post(reverse("accounts:api_key"))
    assert not User.objects.exclude(api_key=None).exists()
