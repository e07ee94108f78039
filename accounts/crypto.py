"""Fernet encryption of exchange credentials, with key rotation (MultiFernet).

`settings.FERNET_KEYS` lists keys newest first: the first encrypts, every one decrypts. Rotating means putting a new
key first and running `manage.py rotate_fernet_keys`, which re-encrypts every row under it.

Decrypted values are registered with `accounts.logging` so that, should one ever reach a log line, it is redacted.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables

from accounts.exceptions import CredentialDecryptionError
from accounts.logging import remember_secret


@lru_cache(maxsize=8)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        # Never echo the key itself: say which position is wrong.
        raise ImproperlyConfigured(
            "FERNET_KEYS holds a value that is not a Fernet key (32 url-safe base64 bytes)."
        ) from exc


def _fernet() -> MultiFernet:
    keys = tuple(settings.FERNET_KEYS)
    if not keys:
        raise ImproperlyConfigured("FERNET_KEYS is empty.")
    return _multi_fernet(keys)


@sensitive_variables("plaintext")
def encrypt(plaintext: str) -> str:
    """Encrypt under the newest key; returns the Fernet token as text."""
    return _fernet().encrypt(plaintext.encode()).decode()


@sensitive_variables("plaintext")
def decrypt(token: str) -> str:
    """Decrypt a token made under any configured key. Raises CredentialDecryptionError (which names no secret)."""
    try:
        plaintext = _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise CredentialDecryptionError() from None
    remember_secret(plaintext)
    return plaintext


def rotate(token: str) -> str:
    """Re-encrypt a token under the newest key (same plaintext, never returned)."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise CredentialDecryptionError() from None
