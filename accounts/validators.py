"""Checks on what a person may sign up as.

Marketplace principals are users too, with a placeholder email under .invalid (partners.principals). No person may
own an address there: a person's account holding a principal's would-be address would stand in the way of that
principal (the "squatting" of docs/partner-api.md). `.invalid` (RFC 2606) is never deliverable, so refusing the whole
top-level domain costs nobody a real address.
"""

from django.core.exceptions import ValidationError

RESERVED_TOP_LEVEL_DOMAIN = "invalid"


def email_is_reserved(email: str) -> bool:
    """Whether `email` is in a domain no person may use (any *.invalid, principals' placeholders among them)."""
    domain = (email or "").rsplit("@", 1)[-1].strip().rstrip(".").lower()
    return domain == RESERVED_TOP_LEVEL_DOMAIN or domain.endswith("." + RESERVED_TOP_LEVEL_DOMAIN)


def person_email_validate(email: str) -> str:
    """`email` when a person may sign up with it; raises ValidationError for a reserved (.invalid) address."""
    if email_is_reserved(email):
        raise ValidationError("This email address is reserved: use an address you can receive mail at.")
    return email
