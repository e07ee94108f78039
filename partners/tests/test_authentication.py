"""The two kinds of key: a partner's user key on registrations, a registration's bot key on principals. A deactivated
registration, an archived bot or a disabled partner fails on the very next request."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.services import user_api_key_revoke
from bots.models import Bot
from partners.services import registration_deactivate
from partners.tests.conftest import ALICE_P, bot_key, user_key

pytestmark = pytest.mark.django_db


def _principal_url():
    return reverse("api:marketplace-subscription-list", args=[ALICE_P])


def test_it_accepts_a_registrations_bot_key(client, acme_reg):
    response = client.get(_principal_url(), **bot_key(acme_reg[1]))
    assert response.status_code == 200 and response.json()["results"] == []


@pytest.mark.parametrize(
    "header",
    ["Marketplace-Key bmr_not-a-real-key", "Marketplace-Key", "Marketplace-Key two parts", "Marketplace-Key \xff"],
)
def test_it_refuses_a_wrong_or_malformed_bot_key(client, acme_reg, header):
    response = client.get(_principal_url(), HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_it_refuses_anonymous_calls_and_user_keys_on_principal_endpoints(client, acme, acme_reg):
    response = client.get(_principal_url())
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Marketplace-Key"
    # The partner's own user key is not a registration's key.
    response = client.get(_principal_url(), **user_key(acme[1]))
    assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"


def test_it_refuses_a_bot_key_on_the_registration_endpoints(client, acme_reg):
    response = client.get(reverse("api:marketplace-registration-list"), **bot_key(acme_reg[1]))
    assert response.status_code == 401


def test_it_stops_a_deactivated_registrations_key_at_once(client, acme, acme_reg):
    registration, key = acme_reg
    assert client.get(_principal_url(), **bot_key(key)).status_code == 200
    registration_deactivate(registration=registration, actor=acme[0])
    response = client.get(_principal_url(), **bot_key(key))
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "This marketplace registration is deactivated."


def test_it_stops_the_key_when_the_bot_leaves_the_catalog(client, acme_reg):
    registration, key = acme_reg
    Bot.objects.filter(pk=registration.bot_id).update(status=Bot.Status.ARCHIVED)
    response = client.get(_principal_url(), **bot_key(key))
    assert response.status_code == 401 and "no longer in the catalog" in response.json()["error"]["message"]


def test_it_stops_the_key_of_a_disabled_or_demoted_partner(client, acme, acme_reg):
    partner, _ = acme
    key = acme_reg[1]
    partner.user_permissions.remove(Permission.objects.get(codename="add_botmarketplaceregistration"))
    assert client.get(_principal_url(), **bot_key(key)).status_code == 401
    partner.user_permissions.add(Permission.objects.get(codename="add_botmarketplaceregistration"))
    assert client.get(_principal_url(), **bot_key(key)).status_code == 200
    partner.is_active = False
    partner.save()
    assert client.get(_principal_url(), **bot_key(key)).status_code == 401


def test_it_keeps_the_bot_key_working_when_the_partner_replaces_its_user_key(client, acme, acme_reg):
    user_api_key_revoke(user=acme[0])
    assert client.get(_principal_url(), **bot_key(acme_reg[1])).status_code == 200
    assert client.get(reverse("api:marketplace-registration-list"), **user_key(acme[1])).status_code == 401


def test_it_refuses_registrations_to_non_partners(client, charlie):
    response = client.get(reverse("api:marketplace-registration-list"), **user_key(charlie[1]))
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
    assert client.get(reverse("api:marketplace-registration-list")).status_code == 401
