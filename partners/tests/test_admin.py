"""Staff deactivate registrations from the admin through the partner API's own service; the key hash never shows."""

import pytest
from django.urls import reverse

from accounts.models import AuditLog
from partners.tests.conftest import ALICE_P, bot_key

pytestmark = pytest.mark.django_db


def test_it_lists_registrations_without_their_key(staff_client, acme_reg):
    registration, key = acme_reg
    changelist = staff_client.get(reverse("admin:partners_botmarketplaceregistration_changelist"))
    change = staff_client.get(reverse("admin:partners_botmarketplaceregistration_change", args=[registration.pk]))
    for response in (changelist, change):
        assert response.status_code == 200
        page = response.content.decode()
        assert "Acme SMA" in page and registration.api_key not in page and key not in page


def test_it_deactivates_selected_registrations_whose_keys_then_fail(client, staff_client, staff, acme_reg):
    registration, key = acme_reg
    response = staff_client.post(
        reverse("admin:partners_botmarketplaceregistration_changelist"),
        {"action": "deactivate_selected", "_selected_action": [registration.pk]},
        follow=True,
    )
    assert "Deactivated 1 registration(s)." in response.content.decode()
    registration.refresh_from_db()
    assert not registration.is_active and registration.status == "deactivated"
    assert AuditLog.objects.get(action="marketplace_registration.deactivate").user == staff
    url = reverse("api:marketplace-subscription-list", args=[ALICE_P])
    assert client.get(url, **bot_key(key)).status_code == 401
