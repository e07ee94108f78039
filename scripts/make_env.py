"""Write a development `.env` with fresh random keys (used by `make run` when there is none)."""

import secrets
import sys
from pathlib import Path

from cryptography.fernet import Fernet

target = Path(sys.argv[1] if len(sys.argv) > 1 else ".env")
if target.exists():
    sys.exit(0)
target.write_text(
    "# Made by `make run` for local development. Never commit this file.\n"
    "DEBUG=true\n"
    f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
    f"FERNET_KEYS={Fernet.generate_key().decode()}\n"
)
print(f"Wrote {target} with fresh development keys.")
