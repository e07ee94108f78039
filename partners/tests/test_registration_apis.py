"""/api/v1/marketplace/registrations/: a partner's registrations, the bot key shown once, deactivation."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts import api_keys
from accounts.models import AuditLog
from bots.models import Bot
from bots.tests.factories import BotFactory
from partners.models import BotMarketplaceRegistration
from partners.tests.conftest import bot_key, user_key

pytestmark = pytest.mark.django_db
LIST = "api:marketplace-registration-list"


def _register(client, partner_key, **fields):
    body = {"bot": "sma-crossover", "marketplace_name": "Acme SMA", "price_on_marketplace": "19.00"}
    body.update(fields)
    return client.post(reverse(LIST), body, content_type="application/json", **user_key(partner_key))


def test_it_registers_a_bot_and_shows_its_key_once(client, acme, sma):
    response = _register(client, acme[1], marketplace_description="Trend following", commission_rate="0.0")
    assert response.status_code == 201
    body = response.json()
    registration = BotMarketplaceRegistration.objects.get()
    assert body["bot_api_key"].startswith("bmr_") and registration.api_key == api_keys.hash_key(body["bot_api_key"])
    assert body["bot"] == "sma-crossover" and body["price_on_marketplace"] == "19.00"
    # The commission is the platform's: a partner cannot set it.
    assert body["commission_rate"] == "0.1000" and registration.commission_rate == Decimal("0.1000")
    assert registration.partner == acme[0] and body["user_principal_id"] == acme[0].user_principal_id
    assert registration.api_key not in response.content.decode()
    listed = client.get(reverse(LIST), **user_key(acme[1]))
    detail = client.get(reverse("api:marketplace-registration-detail", args=[registration.pk]), **user_key(acme[1]))
    for later in (listed, detail):
        assert later.status_code == 200
        assert body["bot_api_key"] not in later.content.decode() and registration.api_key not in later.content.decode()
    assert listed.json()["results"][0]["id"] == registration.pk and "bot_api_key" not in detail.json()


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"bot": "no-such-bot"}, "bot"),
        ({"price_on_marketplace": "-1"}, "price_on_marketplace"),
        ({"price_on_marketplace": "12.345"}, "price_on_marketplace"),
        ({"marketplace_name": ""}, "marketplace_name"),
        ({"marketplace_name": "   "}, "marketplace_name"),
        ({"bot": "pending-bot"}, "bot"),
    ],
)
def test_it_refuses_bad_input_and_stores_nothing(client, acme, sma, fields, field):
    BotFactory(slug="pending-bot", status=Bot.Status.PENDING)
    response = _register(client, acme[1], **fields)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in error["fields"]
    assert not BotMarketplaceRegistration.objects.exists()
    assert not AuditLog.objects.filter(action__startswith="marketplace_registration").exists()


def test_it_refuses_non_partners(client, charlie, sma):
    response = _register(client, charlie[1])
    assert response.status_code == 403
    assert client.post(reverse(LIST), {}, content_type="application/json").status_code == 401
    assert not BotMarketplaceRegistration.objects.exists()


def test_it_shows_a_partner_only_its_own_registrations(client, acme, globex, acme_reg, globex_reg):
    listed = client.get(reverse(LIST), **user_key(globex[1])).json()
    assert [row["id"] for row in listed["results"]] == [globex_reg[0].pk]
    url = reverse("api:marketplace-registration-detail", args=[acme_reg[0].pk])
    assert client.get(url, **user_key(globex[1])).status_code == 404
    deactivate = reverse("api:marketplace-registration-deactivate", args=[acme_reg[0].pk])
    assert client.post(deactivate, **user_key(globex[1])).status_code == 404
    acme_reg[0].refresh_from_db()
    assert acme_reg[0].is_active
    huge = reverse("api:marketplace-registration-detail", args=[2**70])
    assert client.get(huge, **user_key(acme[1])).status_code == 404


def test_it_deactivates_a_registration_whose_key_then_fails(client, acme, acme_reg):
    registration, key = acme_reg
    url = reverse("api:marketplace-registration-deactivate", args=[registration.pk])
    response = client.post(url, **user_key(acme[1]))
    assert response.status_code == 200 and response.json()["is_active"] is False
    registration.refresh_from_db()
    assert not registration.is_active and registration.status == "deactivated"
    principal_url = reverse("api:marketplace-subscription-list", args=["rrkah-fqaaa-aaaaa-aaaaq-cai"])
    assert client.get(principal_url, **bot_key(key)).status_code == 401
    again = client.post(url, **user_key(acme[1]))
    assert again.status_code == 400 and "already deactivated" in again.json()["error"]["message"]


def test_it_lists_registrations_in_a_bounded_number_of_queries(client, acme, django_assert_max_num_queries):
    for count in (3, 30):
        BotMarketplaceRegistration.objects.all().delete()
        for n in range(count):
            BotMarketplaceRegistration.objects.create(
                partner=acme[0], user_principal_id="x", bot=BotFactory(status="APPROVED"), api_key=f"{n:064x}"
            )
        # key lookup, permissions (user, groups), count, page
        with django_assert_max_num_queries(5):
            response = client.get(reverse(LIST) + "?page_size=100", **user_key(acme[1]))
        assert response.json()["count"] == count
