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

from accounts.models import User  # noqa: E402
from accounts.services import credential_create, user_api_key_create  # noqa: E402
from marketplace.demo import DEMO_LOGINS  # noqa: E402


def main() -> None:
    staff, trader, developer, _ = (User.objects.get(email=login.email) for login in DEMO_LOGINS)
    # The trader's own key, so credential endpoints have a row to read and delete.
    if not trader.exchange_credentials.exists():
        credential_create(user=trader, exchange="BINANCE", api_key="fuzz-key-0000-aaaa", api_secret="fuzz-secret-0000")
    for name, user in (("trader", trader), ("developer", developer), ("staff", staff)):
        print(f"{name} Authorization: Api-Key {user_api_key_create(user=user)}")


if __name__ == "__main__":
    main()
