"""The periodic check of exchange keys against their exchanges, and the check one owner asks for.

It stays in trading, above the credentials' app, because it talks to the exchanges through trading.exchanges and
stops the subscriptions a refused key ran (trading.engine); accounts.maintenance owns which keys are due and how a
verdict is stored. Services only: trading.tasks wraps them in the tasks `trading.credentials_validate` and
`trading.credential_validate` on the `maintenance` queue.
"""

import logging
from collections import Counter
from datetime import datetime

import ccxt
from django.db import transaction

from accounts.exceptions import CredentialDecryptionError
from accounts.maintenance import credential_check_failure_record, credential_verdict_store, credentials_due
from accounts.models import ExchangeCredential
from accounts.services import ClearCredentials, credential_reveal
from common.db import connections_reset
from subscriptions.credentials import subscriptions_using
from trading.engine.health import run_failed
from trading.exceptions import CredentialInvalid, ExchangeNotSupported, TradingError
from trading.exchanges.base import TransientExchangeError
from trading.exchanges.clients import adapter_for

logger = logging.getLogger(__name__)

V = ExchangeCredential.ValidationStatus

WITHDRAWALS_REFUSED = (
    "This API key can withdraw funds. The platform only accepts keys without withdrawal permission, so that a "
    "leaked key can never move money off the exchange: create a new key with withdrawals disabled and connect it."
)
KEY_REFUSED_ADVICE = "Check that the key and secret were copied whole and that the key is enabled on the exchange."


def credentials_validate(*, now: datetime, only_pending: bool = True) -> int:
    """Check active exchange credentials against their exchange and store the verdict.

    Checked: active credentials that are `pending` or were edited since their last validation (`updated_at >
    last_validated`); with `only_pending=False`, every active credential. For each, a signed balance read proves
    the key and secret work, and where the exchange reports a key's permissions (Binance mainnet) a key that can
    withdraw is refused. The verdict is stored as `validation_status` 'valid' or 'invalid', `validation_error`
    (words safe to show the owner: never the key or the secret) and `last_validated = now`, audited when the
    status changes. `now` must be the wall clock: it is compared with `updated_at` (auto_now) on the next run, and
    a `now` behind it would make every key look edited since its validation, so checked again each time.

    A credential that becomes invalid stops every ACTIVE non-paper subscription that uses it (same owner, or same
    marketplace principal, exchange and network: see subscriptions.credentials) with status ERROR, via
    run_failed, which emails the owner — in the transaction that marks it invalid.

    Left as they are and counted as skipped (a later run tries again): the exchange unreachable or rate limiting
    (TransientExchangeError), a credential that cannot be decrypted (a platform configuration fault, not the
    owner's: logged as an error), any other exchange error, and a credential edited or deleted during the check.
    No transaction is held open across the network call; run it outside one. Two workers checking the same key
    make the same call; the first to store "invalid" stops the subscriptions, the other only refreshes the row.

    Returns how many credentials got a verdict (valid or invalid).
    """
    outcomes: Counter[str] = Counter()
    candidates = credentials_due(only_pending=only_pending)
    for pk in list(candidates.order_by("pk").values_list("pk", flat=True)):
        outcomes[_credential_validate_guarded(pk=pk, now=now)] += 1
    logger.info(
        "credentials checked: %d valid, %d invalid, %d skipped",
        outcomes[V.VALID],
        outcomes[V.INVALID],
        outcomes["skipped"],
    )
    return outcomes[V.VALID] + outcomes[V.INVALID]


def credential_validate(*, pk: int, now: datetime) -> str:
    """Check one credential now, as credentials_validate checks each (same verdicts, audit and stops), whatever
    its status: its owner asked for it. Returns 'valid', 'invalid' or 'skipped' (inactive, deleted, or no verdict
    from the exchange: see credentials_validate). `now` is the wall clock, for the same reason."""
    return _credential_validate_guarded(pk=pk, now=now)


def _credential_validate_guarded(*, pk: int, now: datetime) -> str:
    """_credential_validate_one, but whatever it raises is recorded on this key alone ('skipped'): one key's
    fault (a row stored around the services, a bug, a lost connection) never stops the check of the keys after it.
    The status is left as it is and `last_validated` untouched, so the next sweep checks the key again."""
    try:
        return _credential_validate_one(pk=pk, now=now)
    except Exception as exc:  # noqa: BLE001 - see the docstring
        logger.exception("validating credential %s failed; the next sweep tries again", pk)
        connections_reset()
        try:
            credential_check_failure_record(pk=pk, error=exc)
        except Exception:  # noqa: BLE001 - the database itself is away: nothing more to record now
            logger.exception("could not record the failed check of credential %s", pk)
        return "skipped"


def _credential_validate_one(*, pk: int, now: datetime) -> str:
    """'valid', 'invalid' or 'skipped'."""
    credential = ExchangeCredential.objects.filter(pk=pk, is_active=True).first()
    if credential is None:
        return "skipped"
    try:
        problem = _exchange_verdict(credential)
    except CredentialDecryptionError:
        logger.error("credential %s cannot be decrypted with the configured FERNET_KEYS; not validated", pk)
        return "skipped"
    except (TransientExchangeError, TimeoutError) as exc:
        # TimeoutError: the shared rate-limit budget stayed spent (trading.ratelimit).
        logger.warning("credential %s not validated, exchange unavailable: %s", pk, exc)
        return "skipped"
    except (TradingError, ccxt.BaseError) as exc:
        # An answer that says nothing about the key (a bad request, an unknown exchange error): not a verdict.
        logger.warning("credential %s not validated: %s", pk, type(exc).__name__)
        return "skipped"

    with transaction.atomic():
        if problem is None:
            stored = credential_verdict_store(credential=credential, status=V.VALID, error="", now=now)
            return V.VALID if stored is not None else "skipped"
        stored = credential_verdict_store(credential=credential, status=V.INVALID, error=problem, now=now)
        if stored is None:
            return "skipped"
        if stored:  # it became invalid just now, in this transaction: stop what uses it, once
            message = f"Your {credential} failed validation: {problem}"
            for subscription_id in subscriptions_using(credential):
                run_failed(subscription_id=subscription_id, message=message, stop=True)
        return V.INVALID


def _exchange_verdict(credential: ExchangeCredential) -> str | None:
    """None when the exchange accepts the key and it cannot withdraw; otherwise why it is refused, in words safe to
    show. Raises TransientExchangeError and the adapter's other errors when the exchange gave no verdict."""
    clear = credential_reveal(credential)
    try:
        adapter = adapter_for(credential)
        adapter.free_balances()  # a signed private read: proves the key and the secret
        # Testnet keys are not asked: Binance's spot testnet has no /sapi endpoints to report permissions on (ccxt
        # raises NotSupported), and a testnet key cannot move real money anyway.
        if not credential.is_testnet and adapter.can_withdraw():
            return WITHDRAWALS_REFUSED
    except CredentialInvalid as exc:
        return _without_secrets(f"{exc} {KEY_REFUSED_ADVICE}", clear)
    except ExchangeNotSupported as exc:
        # e.g. a testnet key for an exchange without a testnet: it can never be used.
        return _without_secrets(str(exc), clear)
    return None


def _without_secrets(message: str, clear: ClearCredentials) -> str:
    # The adapter's messages are fixed texts, but this one is stored and shown: make sure of it.
    for secret in (clear.api_key, clear.secret, clear.passphrase):
        if secret:
            message = message.replace(secret, "[redacted]")
    return message[:2000]
