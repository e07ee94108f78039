"""Internet Computer principal ids in their textual form, checked before anything is stored for one.

The textual form (the IC interface specification, "Textual representation of principals") is:

    Grouped(Base32(BigEndian32(CRC32(raw)) · raw))

lowercase RFC 4648 base32 without padding, split into groups of five characters joined by "-" (the last group
may be shorter). `raw` is at most 29 bytes. Decoding and encoding again must give the same text: that one check
catches wrong grouping, uppercase, stray bits in the last character and non-canonical forms.

Each end user's principal is also a user of this site (partners.services.principal_user_get_or_create),
recognised by its placeholder address: principal_email() makes one, is_principal_user() is the one test for it.
"""

import base64
import binascii
import re
import secrets

from accounts.models import User
from partners.exceptions import PrincipalInvalid

MAX_RAW_BYTES = 29
# 4 checksum bytes + 29 raw bytes = 33 bytes = 53 base32 characters, in 11 groups: 10 dashes.
MAX_TEXT_LENGTH = 63
_ALLOWED = re.compile(r"[a-z2-7-]+")
# The shape alone (for the OpenAPI document): groups of five base32 characters, the last one to five long.
PRINCIPAL_PATTERN = r"^([a-z2-7]{5}-){0,10}[a-z2-7]{1,5}$"

# Valid ids that name no end user: anyone unauthenticated is the anonymous principal, and the management canister
# is the system itself. Data stored for them would be shared by everyone.
ANONYMOUS = "2vxsx-fae"
MANAGEMENT_CANISTER = "aaaaa-aa"

# Principals' users have their placeholder addresses here. No person may sign up with an address under .invalid
# (accounts.validators), so no account of a person can hold one of these or be taken for a principal's.
PRINCIPAL_EMAIL_DOMAIN = "principals.invalid"


def encode(raw: bytes) -> str:
    """The textual form of the principal with bytes `raw`."""
    if len(raw) > MAX_RAW_BYTES:
        raise ValueError(f"a principal has at most {MAX_RAW_BYTES} bytes")
    checksum = binascii.crc32(raw).to_bytes(4, "big")
    text = base64.b32encode(checksum + raw).decode().rstrip("=").lower()
    return "-".join(text[start : start + 5] for start in range(0, len(text), 5))


def decode(text: str) -> bytes:
    """The raw bytes of a principal given in its textual form. Raises PrincipalInvalid, saying what is wrong."""
    if not isinstance(text, str) or not text:
        raise PrincipalInvalid("The principal id is empty.")
    if len(text) > MAX_TEXT_LENGTH:
        raise PrincipalInvalid(f"The principal id is too long: at most {MAX_TEXT_LENGTH} characters.")
    if not _ALLOWED.fullmatch(text):
        raise PrincipalInvalid(
            "The principal id may contain only lowercase letters a-z, digits 2-7 and dashes (textual form)."
        )
    letters = text.replace("-", "")
    # Base32 quanta: 8 characters encode 5 bytes; a final partial quantum has 2, 4, 5 or 7 characters.
    if len(letters) % 8 in (1, 3, 6):
        raise PrincipalInvalid("The principal id has an impossible length for base32.")
    try:
        data = base64.b32decode(letters.upper() + "=" * (-len(letters) % 8))
    except binascii.Error:
        raise PrincipalInvalid("The principal id is not valid base32.") from None
    if len(data) < 4:
        raise PrincipalInvalid("The principal id is too short to hold its checksum.")
    checksum, raw = data[:4], data[4:]
    if len(raw) > MAX_RAW_BYTES:
        raise PrincipalInvalid(f"The principal id is too long: a principal has at most {MAX_RAW_BYTES} bytes.")
    if binascii.crc32(raw).to_bytes(4, "big") != checksum:
        raise PrincipalInvalid("The principal id's checksum does not match: check for a typo.")
    canonical = encode(raw)
    if canonical.replace("-", "") != letters:
        # The last character carries unused bits that must be zero: another letter there decodes the same bytes.
        raise PrincipalInvalid("The principal id is not in canonical form: check its last character.")
    if canonical != text:
        raise PrincipalInvalid("The principal id is not grouped as five characters between dashes.")
    return raw


def principal_validate(text: str) -> str:
    """`text` when it is a principal id in canonical textual form; raises PrincipalInvalid otherwise."""
    decode(text)
    return text


def end_user_principal_validate(text: str) -> str:
    """`text` when it names an end user: a valid principal id other than the anonymous principal and the management
    canister. Raises PrincipalInvalid."""
    principal_validate(text)
    if text == ANONYMOUS:
        raise PrincipalInvalid("The anonymous principal (2vxsx-fae) is not an end user: sign the user in first.")
    if text == MANAGEMENT_CANISTER:
        raise PrincipalInvalid("The management canister (aaaaa-aa) is not an end user.")
    return text


def principal_email() -> str:
    """A fresh placeholder address for a principal's user: never deliverable (.invalid), under a domain no person
    may sign up with (accounts.validators), and random, so nobody can tell in advance which address a principal
    will get. The user is always found by its principal id, never by this address."""
    return f"principal-{secrets.token_hex(12)}@{PRINCIPAL_EMAIL_DOMAIN}"


def is_principal_user(user: User) -> bool:
    """Whether `user` stands for a principal (its address is a principal_email() one), not for a person."""
    return user.email.endswith("@" + PRINCIPAL_EMAIL_DOMAIN)
