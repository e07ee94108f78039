"""Reads of the subscriptions app, scoped to their owner (another user's subscription is a 404), and the markets
a subscription may trade."""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, OuterRef, Prefetch, QuerySet, Subquery
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import Exchange, User
from core import timeframes
from core.backtest.result import amount_json
from core.candle_files import candle_files
from subscriptions.models import Subscription
from trading.models import PerformanceLog, Trade

# A run more than this late (next_run_at in the past) means the scheduler or its workers are not keeping up.
LATE_AFTER = timedelta(minutes=5)
MARKETS_CACHE_SECONDS = 60 * 60
MARKETS_RETRY_SECONDS = 5 * 60


# --- Markets -------------------------------------------------------------------------------------------------------


def _replay_files(exchange: str) -> dict[str, list[str]]:
    """{pair: [timeframes]} of the exchange's replay candle files (core.candle_files) in MARKET_DATA_REPLAY_DIR."""
    found: dict[str, list[str]] = {}
    for file in candle_files(settings.MARKET_DATA_REPLAY_DIR, exchange):
        found.setdefault(file.symbol, []).append(file.timeframe)
    return found


def _ccxt_pairs(exchange: str) -> list[str]:
    """The exchange's active spot markets through ccxt, cached for an hour; [] when it does not answer."""
    key = f"markets:ccxt:{exchange}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    from trading.exchanges.ccxt_factory import make_exchange  # late: ccxt is slow to import

    try:
        markets = make_exchange(exchange).load_markets()
    except Exception:  # noqa: BLE001 - an exchange that does not answer just offers its replay pairs
        # Remembered for a few minutes, so an unreachable exchange does not slow every subscribe page down.
        cache.set(key, [], timeout=MARKETS_RETRY_SECONDS)
        return []
    pairs = sorted(
        symbol for symbol, market in markets.items() if market.get("spot") and market.get("active") is not False
    )
    cache.set(key, pairs, timeout=MARKETS_CACHE_SECONDS)
    return pairs


def market_pairs(exchange: str) -> list[str]:
    """Pairs a subscription may trade on `exchange`: those with replay candles (data/candles/<exchange>/), plus
    ccxt's active spot markets when MARKET_DATA_SOURCE is "ccxt". Sorted, no duplicates."""
    pairs = set(_replay_files(exchange))
    if settings.MARKET_DATA_SOURCE == "ccxt":
        pairs.update(_ccxt_pairs(exchange))
    return sorted(pairs)


def market_timeframes(exchange: str, pair: str) -> list[str]:
    """The timeframes `pair` can run on: with replayed market data only those with a candle file; with ccxt all
    of core.timeframes.SUPPORTED_TIMEFRAMES."""
    if settings.MARKET_DATA_SOURCE == "ccxt":
        return list(timeframes.SUPPORTED_TIMEFRAMES)
    available = set(_replay_files(exchange).get(pair, []))
    return [timeframe for timeframe in timeframes.SUPPORTED_TIMEFRAMES if timeframe in available]


def market_choices() -> dict[str, list[str]]:
    """{exchange code: [pairs]} for every exchange, for the subscribe form."""
    return {exchange: market_pairs(exchange) for exchange in Exchange.values}


# --- A trader's subscriptions --------------------------------------------------------------------------------------


def subscription_list(*, user: User) -> QuerySet[Subscription]:
    """The user's subscriptions, running ones first, with the bot joined: one query, whatever their number."""
    return Subscription.objects.filter(user=user).select_related("bot").order_by("status", "-started_at", "-pk")


def subscription_get(*, user: User, pk: int) -> Subscription:
    """One of the user's subscriptions; raises Http404 for anyone else's."""
    return get_object_or_404(Subscription.objects.filter(user=user).select_related("bot", "paper_account"), pk=pk)


def is_late(subscription: Subscription, *, now=None) -> bool:
    """An ACTIVE subscription whose next run should have started more than LATE_AFTER ago."""
    now = now or timezone.now()
    return (
        subscription.status == Subscription.Status.ACTIVE
        and subscription.next_run_at is not None
        and subscription.next_run_at < now - LATE_AFTER
    )


def subscription_trades(*, subscription: Subscription) -> tuple[list[Trade], QuerySet[Trade]]:
    """(open trades, closed trades newest first) of one subscription."""
    trades = Trade.objects.filter(subscription=subscription)
    open_trades = list(trades.filter(status=Trade.Status.OPEN).order_by("-entry_time", "-pk"))
    return open_trades, trades.filter(status=Trade.Status.CLOSED).order_by("-exit_time", "-pk")


def subscription_decisions(*, subscription: Subscription) -> QuerySet[PerformanceLog]:
    """The decision log, newest first (paginate it)."""
    return PerformanceLog.objects.filter(subscription=subscription).order_by("-timestamp", "-pk")


def subscription_mark(*, subscription: Subscription) -> tuple[Decimal | None, object]:
    """(price, timestamp) of the newest decision the engine logged for the subscription (its last candle close),
    or (None, None) before the first run."""
    row = (
        PerformanceLog.objects.filter(subscription=subscription)
        .order_by("-timestamp", "-pk")
        .values_list("price", "timestamp")
        .first()
    )
    return row if row else (None, None)


def floating_pnl(trade: Trade, mark_price: Decimal | None) -> Decimal:
    """Unrealised P&L of an open trade: quantity × mark − (quantity × entry price + entry fee). Without a mark
    price the entry price is used, so only the entry fee shows as a loss."""
    price = mark_price if mark_price is not None else trade.entry_price
    return trade.quantity * price - (trade.quantity * trade.entry_price + trade.entry_fee)


def subscription_equity_points(
    *, subscription: Subscription, open_trades: list[Trade], mark_price: Decimal | None, marked_at
) -> list[dict]:
    """The chart of a subscription: cumulative closed P&L at each exit (from 0 at its start), then, while a trade
    is open, one last point at the mark time adding its floating P&L. Amounts are strings, times epoch ms."""
    rows = (
        Trade.objects.filter(subscription=subscription, status=Trade.Status.CLOSED)
        .order_by("exit_time", "pk")
        .values_list("exit_time", "pnl")
    )
    points = [{"time_ms": timeframes.to_ms(subscription.started_at), "pnl": "0"}]
    cumulative = Decimal(0)
    for exit_time, pnl in rows:
        cumulative += pnl or Decimal(0)
        points.append({"time_ms": timeframes.to_ms(exit_time), "pnl": amount_json(cumulative)})
    if open_trades:
        floating = sum((floating_pnl(trade, mark_price) for trade in open_trades), Decimal(0))
        at = marked_at or timezone.now()
        points.append({"time_ms": timeframes.to_ms(at), "pnl": amount_json(cumulative + floating), "open": True})
    return sorted(points, key=lambda point: point["time_ms"])


def subscription_list_with_marks(*, user: User) -> QuerySet[Subscription]:
    """subscription_list with `mark_price` (newest logged price) annotated and the open trades prefetched into
    `open_trades`: two queries for the whole dashboard, whatever the number of subscriptions and trades."""
    newest = PerformanceLog.objects.filter(subscription=OuterRef("pk")).order_by("-timestamp", "-pk")
    return (
        subscription_list(user=user)
        .annotate(mark_price=Subquery(newest.values("price")[:1]))
        .prefetch_related(
            Prefetch(
                "trades", queryset=Trade.objects.filter(status=Trade.Status.OPEN).order_by("pk"), to_attr="open_trades"
            )
        )
    )


def market_catalog(markets: dict[str, list[str]] | None = None) -> dict[str, dict[str, list[str]]]:
    """{exchange: {pair: [timeframes]}} of every market a subscription may trade (for the subscribe form's script);
    `markets` is market_choices() when the caller has it already."""
    markets = market_choices() if markets is None else markets
    return {
        exchange: {pair: market_timeframes(exchange, pair) for pair in pairs} for exchange, pairs in markets.items()
    }


def credential_summary(*, user: User) -> list[str]:
    """The user's active exchange keys in words ("Binance testnet: valid"), for the subscribe page's hint."""
    from accounts.models import ExchangeCredential

    keys = ExchangeCredential.objects.owned_by(user).filter(is_active=True).order_by("exchange", "-is_testnet")
    return [
        f"{key.get_exchange_display()} {'testnet' if key.is_testnet else 'mainnet'}: "
        f"{key.get_validation_status_display().lower()}"
        for key in keys
    ]


# --- The trader's API and the developer's figures --------------------------------------------------------------------


def subscription_own_list(*, user: User) -> QuerySet[Subscription]:
    """The user's own subscriptions, newest first, with the bot joined (one query for a page, whatever its size).

    A partner account's subscriptions for its marketplace principals (`user_principal_id` set) are left out: they
    belong to the partner API (docs/partner-api.md), not to the account's own list.
    """
    return Subscription.objects.owned_by(user).select_related("bot").order_by("-started_at", "-pk")


def subscription_own_get(*, user: User, pk: int) -> Subscription:
    """One of subscription_own_list; raises Http404 for anyone else's and for a principal's."""
    return get_object_or_404(subscription_own_list(user=user), pk=pk)


def bot_subscription_totals(*, bot_ids: list[int]) -> dict[int, int]:
    """{bot id: its subscriptions ever, any status} for `bot_ids` (missing ids have none): one query."""
    return dict(
        Subscription.objects.filter(bot_id__in=bot_ids)
        .order_by()
        .values("bot_id")
        .annotate(count=Count("pk"))
        .values_list("bot_id", "count")
    )
