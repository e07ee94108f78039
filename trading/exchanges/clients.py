"""One ccxt client per exchange credential per worker process.

Building a ccxt client is costly (its class, its markets, its rate limiter), and ccxt's own rate limiter only spaces
the calls of one instance: the runs, checks and reconciliations of a worker that use one key share one client.

A client is kept under the credential's id and found again only while the credential's fingerprint is the same: a
hash of its encrypted key, secret and passphrase, its `updated_at`, its network, the request timeout and the REST
URL settings. A rotated or edited key (new tokens, a new `updated_at`) gets a new client; the old one is dropped, so
a worker holds at most one client per credential. Neither the key, the fingerprint nor any log line ever holds the
decrypted secret: it is decrypted only to build a client, and lives on in that client alone.

The cache is per thread (Celery's prefork workers have one: one client per credential per process; a threaded pool
never shares a client between two calls at once) and starts empty in a process forked from one that filled it (a
client's open HTTP connections must not be shared across processes).
"""

import hashlib
import os
import threading

import ccxt
from django.conf import settings

from accounts.models import ExchangeCredential
from accounts.services import credential_reveal
from trading.exchanges.base import ExchangeAdapter, make_client
from trading.exchanges.registry import adapter_class

_local = threading.local()


def adapter_for(credential: ExchangeCredential) -> ExchangeAdapter:
    """An adapter for one run (or one check, one reconciliation) over this worker's client for `credential`, on the
    credential's network. Raises ExchangeNotSupported, CredentialDecryptionError."""
    adapter = adapter_class(credential.exchange)
    return adapter(_client(credential), testnet=credential.is_testnet, key_id=str(credential.pk))


def _cache() -> dict[int, tuple[str, ccxt.Exchange]]:
    """This thread's clients by credential id, each with the fingerprint it was built for."""
    if getattr(_local, "pid", None) != os.getpid():
        _local.pid, _local.clients = os.getpid(), {}
    return _local.clients


def _client(credential: ExchangeCredential) -> ccxt.Exchange:
    fingerprint = _fingerprint(credential)
    cached = _cache().get(credential.pk)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    client = make_client(
        credential.exchange,
        credential_reveal(credential),
        testnet=credential.is_testnet,
        timeout_ms=settings.EXCHANGE_TIMEOUT_MS,
    )
    _cache()[credential.pk] = (fingerprint, client)
    return client


def _fingerprint(credential: ExchangeCredential) -> str:
    """What a client was built from, hashed: the encrypted tokens (never the clear secret) and the settings."""
    parts = (
        credential.exchange,
        str(credential.is_testnet),
        credential.api_key_encrypted,
        credential.api_secret_encrypted,
        credential.api_passphrase_encrypted or "",
        credential.updated_at.isoformat() if credential.updated_at else "",
        str(settings.EXCHANGE_TIMEOUT_MS),
        str(getattr(settings, "EXCHANGE_CCXT_RATE_LIMIT_MS", None)),
        str(getattr(settings, "EXCHANGE_API_BASE_URLS", {}).get(credential.exchange)),
    )
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()
