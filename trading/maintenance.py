"""Periodic maintenance of the engine: expiry, bot statistics, log retention, key validation, late runs.

Services only: trading.tasks wraps each one in a beat task on the `maintenance` queue and logs what it returns.
Every service can be run again, and on several workers at once: rows are claimed with a conditional UPDATE (or
SELECT ... FOR UPDATE SKIP LOCKED) that re-checks the condition that selected them, so a row is handled once and
a rerun finds nothing left to do. Times are aware UTC datetimes; a "day" is a UTC calendar day, the candles' clock.
"""

import logging
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import partial

import ccxt
from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import Count, DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from accounts.exceptions import CredentialDecryptionError
from accounts.models import ExchangeCredential
from accounts.services import ClearCredentials, audit_log_record, credential_reveal
from bots.models import Bot, BotPerformance, BotReview
from subscriptions.credentials import subscriptions_using
from subscriptions.models import PerformanceLog, Subscription, Trade
from subscriptions.services import subscription_transition
from trading.engine.health import connections_reset, run_failed
from trading.exceptions import CredentialInvalid, ExchangeNotSupported, TradingError
from trading.exchanges.base import TransientExchangeError
from trading.exchanges.clients import adapter_for

logger = logging.getLogger(__name__)

S = Subscription.Status
V = ExchangeCredential.ValidationStatus

RATING_PLACES = Decimal("0.01")
FRACTION_PLACES = Decimal("0.0001")
MONEY_PLACES = Decimal("0.00000001")
# Rows per bulk UPDATE / INSERT: keeps each statement well under the databases' placeholder limits.
WRITE_BATCH_SIZE = 500


# --- 1. expiry ---------------------------------------------------------------------------------------------------

TRIAL_ENDED = "Your free trial ended."
PERIOD_ENDED = "Your subscription period ended."


def _expiry_due(now: datetime):
    return Subscription.objects.filter(status__in=[S.ACTIVE, S.PAUSED]).filter(
        Q(expires_at__lte=now) | Q(is_trial=True, trial_expires_at__lte=now)
    )


def subscriptions_expire(*, now: datetime) -> int:
    """Expire every ACTIVE or PAUSED subscription whose paid period (`expires_at`) or, for a trial, whose
    `trial_expires_at` is at or before `now`.

    Each moves to EXPIRED through `subscription_transition` (audited as `subscription.expire`, actor None, the
    reason in `status_reason`) in its own transaction, and its owner gets one email after that commits.
    CANCELLED, ERROR and EXPIRED subscriptions are left alone. Returns how many this call expired.
    """
    expired = 0
    for pk in list(_expiry_due(now).order_by("pk").values_list("pk", flat=True)):
        try:
            expired += _subscription_expire_one(pk=pk, now=now)
        except Exception:  # noqa: BLE001 - one subscription's fault never stops the others' expiry
            logger.exception("expiring subscription %s failed; the next sweep tries again", pk)
            connections_reset()
    return expired


def _subscription_expire_one(*, pk: int, now: datetime) -> int:
    """1 when this call expired subscription `pk`, 0 when someone else did or it was renewed meanwhile."""
    with transaction.atomic():
        # Read again under a lock, with the same conditions: since the list was read another worker may have
        # expired it or the owner renewed it. SKIP LOCKED leaves a row another worker holds to that worker.
        subscription = _expiry_due(now).select_for_update(skip_locked=True).filter(pk=pk).first()
        if subscription is None:
            return 0
        trial_ended = subscription.is_trial and subscription.trial_expires_at and subscription.trial_expires_at <= now
        reason = TRIAL_ENDED if trial_ended else PERIOD_ENDED
        subscription_transition(subscription=subscription, target=S.EXPIRED, actor=None, reason=reason)
        # After commit: a rolled-back expiry must not have told anyone.
        transaction.on_commit(partial(_email_expired, subscription.pk, reason))
    return 1


def _email_expired(subscription_id: int, reason: str) -> None:
    subscription = Subscription.objects.select_related("user", "bot", "marketplace_registration__partner").get(
        pk=subscription_id
    )
    if not subscription.contact_email:
        return
    send_mail(
        f"Your bot “{subscription.instance_name}” has expired",
        f"Your subscription “{subscription.instance_name}” to {subscription.bot.name} has expired: {reason}\n\n"
        "It no longer trades. Subscribe again from the bot's page to keep it running.",
        settings.DEFAULT_FROM_EMAIL,
        [subscription.contact_email],
        fail_silently=True,
    )


# --- 2. bot statistics and the daily snapshot ----------------------------------------------------------------------

STATISTIC_FIELDS = ["total_subscribers", "average_rating", "total_reviews"]
SNAPSHOT_FIELDS = [
    "total_trades",
    "winning_trades",
    "total_pnl",
    "win_rate",
    "max_drawdown",
    "active_subscriptions",
]


def bot_statistics_refresh(*, today: date) -> int:
    """Recompute every bot's denormalised statistics and write its `bot_performance` row for `today`.

    Statistics: `total_subscribers` = its ACTIVE subscriptions; `total_reviews` = its reviews; `average_rating` =
    their mean rating, rounded half-up to 2 places, 0 without reviews. Only bots whose numbers changed are
    written (bulk_update, which leaves `updated_at` alone).

    Snapshot for `today` (one row per bot and date, created or overwritten, so a rerun the same day replaces it),
    over the trades CLOSED during that UTC day (`exit_time` in [today 00:00, tomorrow 00:00)) across all the
    bot's subscriptions, paper and live:
    - `total_trades`, `winning_trades` (pnl > 0), `total_pnl` (the sum of their net `pnl`, exact Decimal);
    - `win_rate` = winning_trades / total_trades, a fraction rounded half-up to 4 places, 0 without trades;
    - `max_drawdown`, a fraction rounded half-up to 4 places: let E be the summed equity, at today 00:00 UTC, of
      the bot's subscriptions that closed a trade today, where one subscription's equity is its cash (the
      `balance` of its newest performance log before 00:00, or its paper account's `starting_balance` when it
      has none yet) plus its positions open at 00:00 at cost (quantity × entry_price + entry_fee). Walk the
      day's closed trades in (exit_time, id) order: equity_k = E + the sum of the first k pnls, peak_k = the
      highest equity_0..k, and max_drawdown = max over k of (peak_k − equity_k) / peak_k, capped at 1. It is 0
      when there are no trades or E is not positive (equity unknown). Live subscriptions of one owner share an
      exchange account, so their cash overlaps: treat the figure as an indicator, not an account statement;
    - `active_subscriptions` = the bot's ACTIVE subscriptions now.

    Queries: eight, whatever the number of bots, plus one more UPDATE and one more INSERT per WRITE_BATCH_SIZE
    bots (SQLite takes fewer rows per statement: Django caps it at 999 parameters). Two workers running it at once
    write the same numbers; the last one wins.
    Returns how many bots were refreshed (all of them).
    """
    with transaction.atomic():
        active = dict(
            Subscription.objects.filter(status=S.ACTIVE)
            .order_by()
            .values("bot_id")
            .annotate(count=Count("pk"))
            .values_list("bot_id", "count")
        )
        reviews = {
            bot_id: (count, rating_sum)
            for bot_id, count, rating_sum in BotReview.objects.order_by()
            .values("bot_id")
            .annotate(count=Count("pk"), rating_sum=Sum("rating"))
            .values_list("bot_id", "count", "rating_sum")
        }
        bots = list(Bot.objects.only("pk", *STATISTIC_FIELDS).order_by("pk"))
        changed = []
        for bot in bots:
            review_count, rating_sum = reviews.get(bot.pk, (0, 0))
            fresh = (active.get(bot.pk, 0), _average_rating(rating_sum, review_count), review_count)
            if fresh != (bot.total_subscribers, bot.average_rating, bot.total_reviews):
                bot.total_subscribers, bot.average_rating, bot.total_reviews = fresh
                changed.append(bot)
        Bot.objects.bulk_update(changed, STATISTIC_FIELDS, batch_size=WRITE_BATCH_SIZE)

        snapshots = _daily_snapshots(bot_ids=[bot.pk for bot in bots], active=active, today=today)
        # An upsert on (bot, date): what update_or_create does per row, in one statement per batch. MySQL's
        # ON DUPLICATE KEY UPDATE takes no conflict target (the unique key decides); SQLite and PostgreSQL need one.
        target = {"unique_fields": ["bot", "date"]} if connection.features.supports_update_conflicts_with_target else {}
        BotPerformance.objects.bulk_create(
            snapshots, batch_size=WRITE_BATCH_SIZE, update_conflicts=True, update_fields=SNAPSHOT_FIELDS, **target
        )
    return len(bots)


def _average_rating(rating_sum: int, review_count: int) -> Decimal:
    # From the integer sum, not the database's AVG: AVG of integers comes back as a float on some backends.
    if not review_count:
        return Decimal("0.00")
    return (Decimal(rating_sum) / Decimal(review_count)).quantize(RATING_PLACES, rounding=ROUND_HALF_UP)


def _fraction(part: int, whole: int) -> Decimal:
    if not whole:
        return Decimal(0)
    return (Decimal(part) / Decimal(whole)).quantize(FRACTION_PLACES, rounding=ROUND_HALF_UP)


def _daily_snapshots(*, bot_ids: list[int], active: dict[int, int], today: date) -> list[BotPerformance]:
    day_start = datetime.combine(today, time.min, tzinfo=UTC)
    closed_today = Trade.objects.filter(
        status=Trade.Status.CLOSED, exit_time__gte=day_start, exit_time__lt=day_start + timedelta(days=1)
    )
    closed = list(
        closed_today.order_by("exit_time", "pk").values_list("subscription__bot_id", "subscription_id", "pnl")
    )
    # As a subquery, not a list of ids: a busy day must not hit the databases' limits on query parameters.
    equity = _equity_at(day_start, closed_today.values("subscription_id")) if closed else {}
    pnls_by_bot: dict[int, list[Decimal]] = defaultdict(list)
    subscriptions_by_bot: dict[int, set[int]] = defaultdict(set)
    for bot_id, subscription_id, pnl in closed:
        pnls_by_bot[bot_id].append(pnl or Decimal(0))
        subscriptions_by_bot[bot_id].add(subscription_id)

    snapshots = []
    for bot_id in bot_ids:
        pnls = pnls_by_bot.get(bot_id, [])
        winning = sum(1 for pnl in pnls if pnl > 0)
        bot_equity = sum((equity.get(pk, Decimal(0)) for pk in subscriptions_by_bot.get(bot_id, ())), Decimal(0))
        snapshots.append(
            BotPerformance(
                bot_id=bot_id,
                date=today,
                total_trades=len(pnls),
                winning_trades=winning,
                total_pnl=sum(pnls, Decimal(0)).quantize(MONEY_PLACES),
                win_rate=_fraction(winning, len(pnls)),
                max_drawdown=max_drawdown(equity=bot_equity, pnls=pnls),
                active_subscriptions=active.get(bot_id, 0),
            )
        )
    return snapshots


def _equity_at(moment: datetime, subscription_ids: QuerySet) -> dict[int, Decimal]:
    """Each subscription's equity at `moment`: cash plus open positions at cost (see bot_statistics_refresh)."""
    money = DecimalField(max_digits=20, decimal_places=8)
    newest_balance = (
        PerformanceLog.objects.filter(subscription=OuterRef("pk"), timestamp__lt=moment)
        .order_by("-timestamp", "-pk")
        .values("balance")[:1]
    )
    equity = {
        pk: cash or Decimal(0)
        for pk, cash in Subscription.objects.filter(pk__in=subscription_ids)
        .annotate(cash=Coalesce(Subquery(newest_balance), F("paper_account__starting_balance"), output_field=money))
        .values_list("pk", "cash")
    }
    # Open at `moment`: entered before it and not closed before it. A partial exit splits a trade into a closed row
    # and the open remainder, both with the original entry time, so together they count the whole position.
    open_positions = Trade.objects.filter(subscription_id__in=subscription_ids, entry_time__lt=moment).filter(
        Q(exit_time__isnull=True) | Q(exit_time__gte=moment)
    )
    # Multiplied here, in Decimal: SQLite would multiply these columns as floats.
    for pk, quantity, entry_price, entry_fee in open_positions.values_list(
        "subscription_id", "quantity", "entry_price", "entry_fee"
    ):
        equity[pk] += quantity * entry_price + entry_fee
    return equity


def max_drawdown(*, equity: Decimal, pnls: list[Decimal]) -> Decimal:
    """The deepest fall from a running peak of `equity` plus the cumulative `pnls`, as a fraction of that peak
    (0 to 1, 4 places, half-up). 0 when `equity` is not positive: a fraction of an unknown equity means nothing."""
    if equity <= 0:
        return Decimal(0)
    value = peak = equity
    deepest = Decimal(0)
    for pnl in pnls:
        value += pnl
        peak = max(peak, value)
        # peak >= equity > 0, so the division is safe.
        deepest = max(deepest, (peak - value) / peak)
    return min(deepest, Decimal(1)).quantize(FRACTION_PLACES, rounding=ROUND_HALF_UP)


# --- 3. performance log retention ----------------------------------------------------------------------------------


def performance_logs_prune(*, now: datetime, keep_days: int = 90, batch_size: int = 5000) -> int:
    """Delete performance_logs whose `timestamp` is more than `keep_days` days before `now`, `batch_size` rows at a
    time, each batch committed on its own. Returns how many rows were deleted. Raises ValueError for a
    `keep_days` or `batch_size` below 1 (a typo must not wipe the table)."""
    if keep_days < 1 or batch_size < 1:
        raise ValueError("keep_days and batch_size must be at least 1.")
    cutoff = now - timedelta(days=keep_days)
    old = PerformanceLog.objects.filter(timestamp__lt=cutoff)
    deleted = 0
    while True:
        # The ids are fetched first because MySQL refuses LIMIT inside an IN subquery. Small batches keep each
        # DELETE's locks and undo log short, so the engine's inserts never wait long; oldest ids first, as the
        # old rows sit at the start of the primary key.
        ids = list(old.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        # Counts what this worker removed: rows another worker deleted first are simply not counted twice.
        removed, _ = PerformanceLog.objects.filter(pk__in=ids).delete()
        deleted += removed


# --- 4. exchange credential validation -----------------------------------------------------------------------------

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
    candidates = ExchangeCredential.objects.filter(is_active=True)
    if only_pending:
        candidates = candidates.filter(Q(validation_status=V.PENDING) | Q(updated_at__gt=F("last_validated")))
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


CHECK_FAILED = "The check of this key failed on an internal error ({name}); it is tried again."


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
            ExchangeCredential.objects.filter(pk=pk).update(
                validation_error=CHECK_FAILED.format(name=type(exc).__name__)
            )
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
            stored = _credential_store(credential=credential, status=V.VALID, error="", now=now)
            return V.VALID if stored is not None else "skipped"
        stored = _credential_store(credential=credential, status=V.INVALID, error=problem, now=now)
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


def _credential_store(*, credential: ExchangeCredential, status: str, error: str, now: datetime) -> bool | None:
    """Store a verdict on the credential as it was read before the exchange call. True when its status changed,
    False when it already had that status (the message and time are refreshed), None when the row was edited or
    deleted meanwhile (nothing stored: the verdict is about values that are gone)."""
    # Compare-and-set on updated_at: a key replaced while we were on the network keeps its own status.
    as_checked = ExchangeCredential.objects.filter(pk=credential.pk, updated_at=credential.updated_at)
    # Only the worker whose UPDATE changes the status reports a change (and so stops subscriptions).
    if as_checked.exclude(validation_status=status).update(
        validation_status=status, validation_error=error, last_validated=now
    ):
        audit_log_record(
            actor=None,
            action="credential.validate",
            instance=credential,
            old_values={"validation_status": credential.validation_status},
            new_values={"validation_status": status, "error": error} if error else {"validation_status": status},
        )
        return True
    if as_checked.update(validation_error=error, last_validated=now):
        return False
    return None


# --- 5. late runs --------------------------------------------------------------------------------------------------

LATE_PREFIX = "No run "
LATE_SUFFIX = ": the platform is catching up."


def late_message(*, last_run_at: datetime | None, next_run_at: datetime) -> str:
    """What a late subscription shows its owner (recognised again by LATE_PREFIX and LATE_SUFFIX)."""
    if last_run_at is None:
        return f"{LATE_PREFIX}yet, due {next_run_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC{LATE_SUFFIX}"
    return f"{LATE_PREFIX}since {last_run_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC{LATE_SUFFIX}"


def runs_health_check(*, now: datetime, grace_s: int = 300) -> list[int]:
    """Find ACTIVE subscriptions that should have run (inside their started_at/expires_at window, as the scheduler
    sees it) but whose `next_run_at` is more than `grace_s` seconds before `now`: the worker is down or the
    exchange unreachable. Each gets `last_error` = late_message(...), unless it shows a real error (only an
    empty `last_error` or an earlier lateness message is replaced); none is stopped, and the next successful run
    clears the message. Logs a WARNING with the count. Returns the late subscriptions' ids, in id order."""
    late = Subscription.objects.filter(
        status=S.ACTIVE, started_at__lte=now, next_run_at__lt=now - timedelta(seconds=grace_s)
    ).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    rows = list(late.order_by("pk").values_list("pk", "last_run_at", "next_run_at"))
    ids_by_message: dict[str, list[int]] = defaultdict(list)
    for pk, last_run_at, next_run_at in rows:
        ids_by_message[late_message(last_run_at=last_run_at, next_run_at=next_run_at)].append(pk)
    for message, ids in ids_by_message.items():
        # One UPDATE per distinct message and batch (an outage makes many subscriptions late since the same moment).
        # It checks the conditions again: a run that caught up or failed with a real error since the read is left
        # alone.
        for start in range(0, len(ids), WRITE_BATCH_SIZE):
            late.filter(pk__in=ids[start : start + WRITE_BATCH_SIZE]).filter(
                Q(last_error="") | Q(last_error__startswith=LATE_PREFIX, last_error__endswith=LATE_SUFFIX)
            ).update(last_error=message)
    late_ids = [pk for pk, _, _ in rows]
    if late_ids:
        logger.warning(
            "%d active subscription(s) have not run for more than %ds (first ids: %s)",
            len(late_ids),
            grace_s,
            late_ids[:20],
        )
    return late_ids
