import io
import logging

import pytest
from django.core.management import call_command
from django.db import connection

from accounts import crypto
from accounts.exceptions import CredentialDecryptionError, CredentialError
from accounts.logging import REDACTED, RedactSecretsFilter
from accounts.models import AuditLog, ExchangeCredential
from accounts.services import credential_create, credential_delete, credential_reveal

KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"


def _raw_row(pk):
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key_encrypted, api_secret_encrypted FROM exchange_credentials WHERE id=%s", [pk])
        return cursor.fetchone()


@pytest.mark.django_db
def test_it_stores_credentials_encrypted_and_reveals_them_to_the_engine_only(alice):
    credential = credential_create(user=alice, exchange="BINANCE", api_key=KEY, api_secret=SECRET)
    raw_key, raw_secret = _raw_row(credential.pk)
    assert KEY not in raw_key and SECRET not in raw_secret
    assert credential.api_key_hint == KEY[-4:]
    clear = credential_reveal(credential)
    assert (clear.api_key, clear.secret) == (KEY, SECRET)
    assert KEY not in repr(clear) and SECRET not in str(clear) and SECRET not in f"{clear!r}"
    assert KEY not in str(credential) and credential.masked_key.endswith(KEY[-4:])
    audit = AuditLog.objects.get(action="credential.create")
    assert KEY not in str(audit.new_values) and SECRET not in str(audit.new_values)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"api_key": "", "api_secret": SECRET}, "required"),
        ({"api_key": KEY, "api_secret": "   "}, "required"),
        ({"api_key": "abc", "api_secret": SECRET}, "too short"),
        ({"api_key": KEY, "api_secret": SECRET, "exchange": "MTGOX"}, "Unknown exchange"),
        ({"api_key": KEY, "api_secret": SECRET, "exchange": "COINBASE"}, "passphrase"),
    ],
)
def test_it_refuses_bad_credentials_and_stores_nothing(alice, kwargs, message):
    kwargs = {"exchange": "BINANCE", **kwargs}
    with pytest.raises(CredentialError, match=message):
        credential_create(user=alice, **kwargs)
    assert not ExchangeCredential.objects.exists()
    assert not AuditLog.objects.filter(action="credential.create").exists()


@pytest.mark.django_db
def test_it_refuses_a_second_key_for_the_same_exchange_and_network(alice):
    credential_create(user=alice, exchange="BINANCE", api_key=KEY, api_secret=SECRET)
    with pytest.raises(CredentialError, match="already"):
        credential_create(user=alice, exchange="BINANCE", api_key=KEY, api_secret=SECRET)
    credential_create(user=alice, exchange="BINANCE", api_key=KEY, api_secret=SECRET, is_testnet=False)
    assert ExchangeCredential.objects.count() == 2


@pytest.mark.django_db
def test_it_rotates_every_row_to_the_newest_key(alice, bob, settings):
    old_key, new_key = settings.FERNET_KEYS[1], settings.FERNET_KEYS[0]
    settings.FERNET_KEYS = [old_key]
    first = credential_create(user=alice, exchange="BINANCE", api_key=KEY, api_secret=SECRET)
    second = credential_create(
        user=bob, exchange="COINBASE", api_key=KEY, api_secret=SECRET, passphrase="pass-phrase-1", is_testnet=False
    )

    settings.FERNET_KEYS = [new_key, old_key]
    call_command("rotate_fernet_keys", stdout=io.StringIO())

    settings.FERNET_KEYS = [new_key]  # the old key is gone: every row must still decrypt
    for credential in (first, second):
        credential.refresh_from_db()
        clear = credential_reveal(credential)
        assert (clear.api_key, clear.secret) == (KEY, SECRET)
    assert credential_reveal(second).passphrase == "pass-phrase-1"
    assert AuditLog.objects.filter(action="credential.rotate_keys").exists()


@pytest.mark.django_db
def test_it_says_nothing_secret_when_no_key_decrypts(alice, settings):
    credential = credential_create(user=alice, exchange="BINANCE", api_key=KEY, api_secret=SECRET)
    settings.FERNET_KEYS = ["A" * 43 + "="]
    with pytest.raises(CredentialDecryptionError) as excinfo:
        credential_reveal(credential)
    assert KEY not in str(excinfo.value) and credential.api_key_encrypted not in str(excinfo.value)


@pytest.mark.django_db
def test_it_deletes_a_credential_with_an_audit_row(alice):
    credential = credential_create(user=alice, exchange="BINANCE", api_key=KEY, api_secret=SECRET)
    credential_delete(credential=credential, actor=alice)
    assert not ExchangeCredential.objects.exists()
    assert AuditLog.objects.filter(action="credential.delete").exists()


def test_it_encrypts_differently_each_time():
    assert crypto.encrypt(SECRET) != crypto.encrypt(SECRET)


@pytest.mark.django_db
def test_it_redacts_decrypted_secrets_from_log_lines(alice):
    credential = credential_create(user=alice, exchange="BINANCE", api_key=KEY, api_secret=SECRET)
    credential_reveal(credential)
    record = logging.LogRecord("ccxt", logging.ERROR, __file__, 1, "binance said %s for %s", ("nope", SECRET), None)
    try:
        raise ValueError(f"signature failed with apiKey={KEY}")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    RedactSecretsFilter().filter(record)
    text = record.getMessage() + record.exc_text
    assert SECRET not in text and KEY not in text
    assert REDACTED in record.getMessage() and REDACTED in record.exc_text
