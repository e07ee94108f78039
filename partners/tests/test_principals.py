"""Principal ids: the textual form (base32 of CRC-32 + bytes, grouped by five) is checked before anything is stored."""

import pytest

from partners import services
from partners.exceptions import PrincipalInvalid
from partners.principals import (
    decode,
    encode,
    end_user_principal_validate,
    is_principal_user,
    principal_email,
    principal_validate,
)
from partners.tests.conftest import ALICE_P

REAL_PRINCIPALS = {
    "2vxsx-fae": "04",  # the anonymous principal
    "aaaaa-aa": "",  # the management canister
    "rrkah-fqaaa-aaaaa-aaaaq-cai": "00000000000000010101",
    "ryjl3-tyaaa-aaaaa-aaaba-cai": "00000000000000020101",  # the ICP ledger canister
    "rdmx6-jaaaa-aaaaa-aaadq-cai": "00000000000000070101",  # Internet Identity
}


@pytest.mark.parametrize("text, raw_hex", REAL_PRINCIPALS.items())
def test_it_reads_real_principals(text, raw_hex):
    assert decode(text) == bytes.fromhex(raw_hex)
    assert principal_validate(text) == text
    assert encode(bytes.fromhex(raw_hex)) == text


def test_it_reads_a_self_authenticating_principal_of_29_bytes():
    raw = decode(ALICE_P)
    assert len(raw) == 29 and raw[-1] == 2
    assert len(ALICE_P) == 63 and ALICE_P.count("-") == 10


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("rrkah-fqaaa-aaaaa-aaaar-cai", "checksum"),  # a checksum-covered character changed
        ("rrkah-fqaaa-aaaaa-aaaaq-caj", "canonical"),  # unused trailing bits set
        ("rrkah-fqaab-aaaaa-aaaaq-cai", "checksum"),  # a byte changed
        ("2vxsx-fai", "checksum"),
        ("RRKAH-FQAAA-AAAAA-AAAAQ-CAI", "lowercase"),
        ("rrkah-fqaaa-aaaaa-aaaaq-ca1", "lowercase"),  # 1 is not in the base32 alphabet
        ("rrkah fqaaa-aaaaa-aaaaq-cai", "lowercase"),
        ("rrkahfqaaaaaaaaaaaaqcai", "grouped"),  # right letters, no dashes
        ("rrka-hfqaaa-aaaaa-aaaaq-cai", "grouped"),
        ("rrkah-fqaaa-aaaaa-aaaaq-cai-", "grouped"),
        ("-rrkah-fqaaa-aaaaa-aaaaq-cai", "grouped"),
        ("rrkah--fqaaa-aaaaa-aaaaq-cai", "grouped"),
        ("2vxsx-fab", "checksum"),
        ("aaaaa-a", "impossible length"),
        ("aaa", "impossible length"),
        ("aaaa", "too short"),
        (ALICE_P + "-aaaaa", "too long"),
        ("a" * 64, "too long"),
    ],
)
def test_it_refuses_a_malformed_principal_with_a_clear_message(text, message):
    with pytest.raises(PrincipalInvalid) as caught:
        decode(text)
    assert message in str(caught.value)
    assert caught.value.errors == {"principal": [str(caught.value)]}


def test_it_refuses_thirty_bytes_even_with_a_right_checksum():
    import base64
    import binascii

    raw = bytes(range(30))
    text = base64.b32encode(binascii.crc32(raw).to_bytes(4, "big") + raw).decode().rstrip("=").lower()
    grouped = "-".join(text[i : i + 5] for i in range(0, len(text), 5))
    with pytest.raises(PrincipalInvalid, match="too long"):
        decode(grouped)
    with pytest.raises(ValueError):
        encode(raw)


def test_it_refuses_principals_that_name_no_end_user():
    assert end_user_principal_validate(ALICE_P) == ALICE_P
    with pytest.raises(PrincipalInvalid, match="anonymous"):
        end_user_principal_validate("2vxsx-fae")
    with pytest.raises(PrincipalInvalid, match="management canister"):
        end_user_principal_validate("aaaaa-aa")


@pytest.mark.django_db
def test_it_tells_a_principals_user_from_a_persons_account(alice):
    principal_user = services.principal_user_get_or_create(principal_id=ALICE_P)
    assert is_principal_user(principal_user) and principal_user.email.endswith("@principals.invalid")
    assert not is_principal_user(alice)
    assert principal_email() != principal_email()
