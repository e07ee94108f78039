"""Domain errors of the accounts app. Their messages are safe to show a user: they never contain a secret."""

from common.errors import DomainError


class AccountsError(DomainError):
    """Base class; `str(exc)` is a message for the user."""


class CredentialDecryptionError(AccountsError):
    def __init__(self) -> None:
        super().__init__("This credential cannot be decrypted with the configured keys; enter it again.")


class CredentialError(AccountsError):
    """Bad credential input (empty key, passphrase missing where the exchange needs one...)."""
