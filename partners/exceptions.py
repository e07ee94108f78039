"""Domain errors of the partner marketplace API. Messages are safe to show the partner: they never carry a secret.

`errors` maps a request field to its messages (empty when no one field is to blame); `status_code` is the HTTP
status the API answers with, and `code` its error code (common.api.exceptions turns these errors into the
shared error shape).
"""

from common.errors import DomainError


class PartnerError(DomainError):
    """Base class; `str(exc)` is a message for the partner."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.errors: dict[str, list[str]] = {field: [message]} if field else {}


class PrincipalInvalid(PartnerError):
    """Not a principal id in textual form, or one that names no end user."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="principal")


class PrincipalUnavailable(PartnerError):
    """The principal belongs to an account of this site (e.g. a partner's own principal), not to an end user."""


class RegistrationInvalid(PartnerError):
    """Bad input to registration_create, or a registration in no state to do what was asked; nothing was stored."""


class CredentialConflict(PartnerError):
    """The principal's key for that exchange and network is held by another partner marketplace."""

    status_code = 409
    code = "conflict"
