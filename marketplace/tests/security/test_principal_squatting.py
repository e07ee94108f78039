"""Partner principals cannot be squatted: no person can own the address a principal's user would get, and a row in
the way never turns a partner call into a 500.

Before the fix a principal's placeholder address was sha256(principal)[:24]@principals.invalid: signing up with it
first made every later partner call for that principal fail with a 500.
"""

import hashlib

import pytest
from django.urls import reverse

from accounts.models import User
from accounts.services import user_create
from accounts.tests.factories import UserFactory
from partners import services as partner_services
from partners.tests.conftest import ALICE_P, API_KEY, API_SECRET, acme, acme_reg, bot_key, sma  # noqa: F401

pytestmark = pytest.mark.django_db
SIGNUP = reverse("accounts:signup")
PASSWORD = "a-long-passphrase-42"


def old_derivable_email(principal_id: str) -> str:
    return f"{hashlib.sha256(principal_id.encode()).hexdigest()[:24]}@principals.invalid"


def _put_key(client, key, principal=ALICE_P):
    url = reverse("api:marketplace-credential", args=[principal, "BINANCE", "testnet"])
    return client.put(
        url, {"api_key": API_KEY, "api_secret": API_SECRET}, content_type="application/json", **bot_key(key)
    )


def _subscriptions(client, key, principal=ALICE_P):
    return client.get(reverse("api:marketplace-subscription-list", args=[principal]), **bot_key(key))


@pytest.mark.parametrize(
    "email",
    [
        old_derivable_email(ALICE_P),
        "principal-0123456789abcdef01234567@principals.invalid",
        "Someone@PRINCIPALS.INVALID",
        "someone@sub.principals.invalid",
        "someone@anything.invalid",
    ],
)
def test_it_refuses_a_reserved_address_at_sign_up_and_stores_nothing(client, email):
    response = client.post(SIGNUP, {"email": email, "password1": PASSWORD, "password2": PASSWORD, "role": "USER"})
    assert response.status_code == 200
    assert "reserved" in response.context["form"].errors["email"][0]
    assert not User.objects.filter(email__iexact=email).exists()


def test_it_refuses_a_reserved_address_in_the_service():
    with pytest.raises(ValueError, match="reserved"):
        user_create(email=old_derivable_email(ALICE_P), password=PASSWORD)
    assert not User.objects.exists()


def test_it_refuses_a_reserved_address_in_the_admin(staff_client):
    response = staff_client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "squat@principals.invalid",
            "role": "USER",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "usable_password": "true",
        },
    )
    assert response.status_code == 200
    assert "reserved" in str(response.context["adminform"].form.errors["email"])
    assert not User.objects.filter(email="squat@principals.invalid").exists()


def test_it_refuses_moving_an_account_into_the_reserved_domain_in_the_admin(staff_client, alice):
    url = reverse("admin:accounts_user_change", args=[alice.pk])
    form = staff_client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data.update(email="squat@principals.invalid", groups=[], user_permissions=[])
    response = staff_client.post(url, data)
    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"


def test_it_serves_a_principal_whose_old_address_a_person_holds(client, acme_reg):  # noqa: F811
    # A person's account from before the domain was reserved holds the address the principal used to get.
    squatter = UserFactory(email=old_derivable_email(ALICE_P))
    assert _put_key(client, acme_reg[1]).status_code == 200
    assert _subscriptions(client, acme_reg[1]).status_code == 200
    principal_user = User.objects.get(user_principal_id=ALICE_P)
    assert principal_user.pk != squatter.pk and principal_user.email.endswith("@principals.invalid")
    squatter.refresh_from_db()
    assert squatter.user_principal_id is None


def test_it_draws_another_address_when_the_placeholder_is_taken(client, acme_reg, monkeypatch):  # noqa: F811
    taken = "principal-taken@principals.invalid"
    UserFactory(email=taken)
    drawn = iter([taken, "principal-fresh@principals.invalid"])
    monkeypatch.setattr(partner_services, "principal_email", lambda: next(drawn))
    assert _put_key(client, acme_reg[1]).status_code == 200
    assert User.objects.get(user_principal_id=ALICE_P).email == "principal-fresh@principals.invalid"


def test_it_answers_a_clear_error_not_a_500_when_no_address_can_be_drawn(client, acme_reg, monkeypatch):  # noqa: F811
    taken = "principal-taken@principals.invalid"
    UserFactory(email=taken)
    monkeypatch.setattr(partner_services, "principal_email", lambda: taken)
    response = _put_key(client, acme_reg[1])
    assert response.status_code == 400
    assert "principal" in response.json()["error"]["fields"]
    assert not User.objects.filter(user_principal_id=ALICE_P).exists()


def test_it_gives_placeholder_addresses_nobody_can_predict():
    first = partner_services.principal_user_get_or_create(principal_id=ALICE_P)
    assert first.email != old_derivable_email(ALICE_P)
    assert partner_services.principal_email() != partner_services.principal_email()
    assert partner_services.principal_user_get_or_create(principal_id=ALICE_P).pk == first.pk
