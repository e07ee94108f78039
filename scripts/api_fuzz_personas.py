"""Personas for scripts/api_fuzz.py, made in the database the environment names (after `load_demo`).

Prints one line per persona: `<name> Authorization: <scheme> <key>`. The keys are fresh random ones for a
throwaway database; nothing here is used outside the fuzz run.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.test")

import django  # noqa: E402

django.setup()

import hashlib  # noqa: E402
from decimal import Decimal  # noqa: E402

from django.contrib.auth.models import Permission  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.services import credential_create, user_api_key_create  # noqa: E402
from bots.models import Bot  # noqa: E402
from marketplace.demo import DEMO_LOGINS  # noqa: E402
from partners.principals import encode  # noqa: E402
from partners.services import principal_credential_store, registration_create  # noqa: E402


def main() -> None:
    staff, trader, developer, _ = (User.objects.get(email=login.email) for login in DEMO_LOGINS)
    # The trader's own key, so credential endpoints have a row to read and delete.
    if not trader.exchange_credentials.exists():
        credential_create(user=trader, exchange="BINANCE", api_key="fuzz-key-0000-aaaa", api_secret="fuzz-secret-0000")
    for name, user in (("trader", trader), ("developer", developer), ("staff", staff)):
        print(f"{name} Authorization: Api-Key {user_api_key_create(user=user)}")
    partner, bot_key = _partner()
    print(f"partner Authorization: Api-Key {user_api_key_create(user=partner)}")
    print(f"bot_key Authorization: Marketplace-Key {bot_key}")


def _partner() -> tuple[User, str]:
    """A partner marketplace with a registration of a demo bot and one principal's key; (partner, bot key)."""
    principal = encode(hashlib.sha224(b"fuzz partner").digest() + b"\x02")
    partner = User.objects.create_user(email="partner@fuzz.local", password=None, user_principal_id=principal)
    partner.user_permissions.add(Permission.objects.get(codename="add_botmarketplaceregistration"))
    bot = Bot.objects.filter(status=Bot.Status.APPROVED).order_by("pk").first()
    registration, bot_key = registration_create(
        partner=partner, bot=bot, marketplace_name="Fuzz market", price_on_marketplace=Decimal("10.00")
    )
    end_user = encode(hashlib.sha224(b"fuzz end user").digest() + b"\x02")
    principal_credential_store(
        registration=registration,
        principal_id=end_user,
        exchange="BINANCE",
        network="testnet",
        api_key="fuzz-principal-key-0000",
        api_secret="fuzz-principal-secret-0000",
    )
    return partner, bot_key


if __name__ == "__main__":
    main()
