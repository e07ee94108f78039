"""A bot's track record as the platform ran it: paper, testnet and mainnet, each on its own, never mixed.

Only trades the platform itself recorded count (table `trades` of the bot's subscriptions, any status, so a
cancelled subscription's history stays in the record); nothing a developer uploads. Definitions are in
docs/statistics.md, "The platform's record of a bot"; in short, for one mode:

- capital `B_0` = the sum of the starting capital of the mode's subscriptions that ran (paper: its paper account's
  starting balance; exchange: the quote balance logged with its first decision plus the cost of the position that
  decision opened);
- the equity curve has one point per UTC day from the first activity to the last: `B_0` + the P&L of the trades
  closed by the end of that day; the last point also marks the still-open trades at the newest logged price
  (their floating P&L, losses included, so they count in the drawdown);
- the statistics are `core.backtest.compute_stats` over that curve and the closed trades (1-day periods).

`records_for_bot` makes two queries however many subscriptions and trades the bot has.

Privacy: a mode's results are published only when at least settings.SUBSCRIBER_OUTCOMES_MIN_GROUP of its
subscriptions ran (`min_group`); below that the record is `withheld` and carries no figure at all (with one
subscription, its capital and P&L would be that person's).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from statistics import median

from django.conf import settings
from django.db.models import F, OuterRef, Subquery

from bots.models import Bot
from core.backtest import BacktestStats, EquityPoint, compute_stats
from core.backtest import Trade as StatTrade
from core.backtest.result import amount_json
from core.charts import downsample
from core.fill_model import ExitReason, to_decimal
from subscriptions.models import PerformanceLog, Subscription, Trade

MODES = ("paper", "testnet", "mainnet")
MODE_LABELS = {
    "backtest": "Backtest",
    "paper": "Paper trading",
    "testnet": "Live on testnet",
    "mainnet": "Live on mainnet",
}
DAY_MS = 24 * 60 * 60 * 1000
HISTOGRAM_BUCKETS = 6


@dataclass(frozen=True)
class Bucket:
    low: float
    high: float
    count: int
    width_pct: int  # bar length for the page, relative to the fullest bucket


@dataclass(frozen=True)
class Distribution:
    """What each subscription of one mode got: its total P&L (quote) and ROI (a fraction of its capital)."""

    count: int
    pnl_min: Decimal
    pnl_median: Decimal
    pnl_max: Decimal
    roi_min: float | None
    roi_median: float | None
    roi_max: float | None
    histogram: list[Bucket]


@dataclass
class Record:
    mode: str
    label: str
    subscriptions: int = 0
    capital: Decimal = Decimal(0)
    realized_pnl: Decimal = Decimal(0)
    floating_pnl: Decimal = Decimal(0)
    open_trades: int = 0
    stats: BacktestStats | None = None
    equity_curve: list[dict] = field(default_factory=list)
    distribution: Distribution | None = None
    # Some subscriptions ran, fewer than the group the figures may be published for: nothing else is set.
    withheld: bool = False

    @property
    def has_data(self) -> bool:
        return self.subscriptions > 0


def mode_of(is_paper: bool, network_type: str) -> str:
    return "paper" if is_paper else network_type


def min_group() -> int:
    """The fewest subscriptions whose results may be published together (settings.SUBSCRIBER_OUTCOMES_MIN_GROUP)."""
    return max(1, int(settings.SUBSCRIBER_OUTCOMES_MIN_GROUP))


def records_for_bot(bot: Bot) -> dict[str, Record]:
    """One Record per mode (paper, testnet, mainnet), empty ones included, in that order. A mode whose
    subscriptions that ran number fewer than min_group() is `withheld` (no figures)."""
    logs = PerformanceLog.objects.filter(subscription=OuterRef("pk"))
    subscriptions = list(
        Subscription.objects.filter(bot=bot)
        .annotate(
            mark_price=Subquery(logs.order_by("-timestamp", "-pk").values("price")[:1]),
            last_log_at=Subquery(logs.order_by("-timestamp", "-pk").values("timestamp")[:1]),
            first_log_at=Subquery(logs.order_by("timestamp", "pk").values("timestamp")[:1]),
            first_balance=Subquery(logs.order_by("timestamp", "pk").values("balance")[:1]),
            paper_capital=F("paper_account__starting_balance"),
        )
        .values(
            "pk",
            "is_paper",
            "network_type",
            "mark_price",
            "last_log_at",
            "first_log_at",
            "first_balance",
            "paper_capital",
            "total_pnl",
        )
    )
    trades = list(
        Trade.objects.filter(subscription__bot=bot)
        .order_by("entry_time", "pk")
        .values(
            "subscription_id",
            "status",
            "quantity",
            "entry_price",
            "entry_fee",
            "exit_fee",
            "pnl",
            "entry_time",
            "exit_time",
        )
    )
    by_subscription: dict[int, list[dict]] = defaultdict(list)
    for trade in trades:
        by_subscription[trade["subscription_id"]].append(trade)
    grouped: dict[str, list[dict]] = {mode: [] for mode in MODES}
    for row in subscriptions:
        grouped.setdefault(mode_of(row["is_paper"], row["network_type"]), []).append(row)
    return {mode: _record(mode, grouped[mode], by_subscription) for mode in MODES}


def _cost(trade: dict) -> Decimal:
    return trade["quantity"] * trade["entry_price"] + trade["entry_fee"]


def _capital(row: dict, trades: list[dict]) -> Decimal:
    """A subscription's starting capital (see the module docstring)."""
    if row["is_paper"]:
        return row["paper_capital"] or to_decimal(settings.PAPER_STARTING_BALANCE)
    if row["first_balance"] is not None:
        opened_by_first = [t for t in trades if row["first_log_at"] and t["entry_time"] <= row["first_log_at"]]
        return row["first_balance"] + sum((_cost(t) for t in opened_by_first), Decimal(0))
    # Never logged a decision (cannot happen for rows written by the engine): the largest position it took.
    return max((_cost(t) for t in trades), default=Decimal(0))


def _floating(trade: dict, mark: Decimal | None) -> Decimal:
    """Unrealised P&L of an open trade marked at `mark`: quantity × mark − cost (exit fee not yet paid)."""
    price = mark if mark is not None else trade["entry_price"]
    return trade["quantity"] * price - _cost(trade)


def _day_end(moment: datetime) -> datetime:
    day = moment.astimezone(UTC).date()
    return datetime.combine(day, time.min, tzinfo=UTC) + timedelta(days=1)


def _record(mode: str, rows: list[dict], by_subscription: dict[int, list[dict]]) -> Record:
    record = Record(mode=mode, label=MODE_LABELS[mode])
    ran = [row for row in rows if by_subscription.get(row["pk"]) or row["last_log_at"] is not None]
    if not ran:
        return record
    if len(ran) < min_group():
        # Not even the count: "2 subscriptions" and a total would let each of the two work out the other's.
        record.withheld = True
        return record
    closed: list[dict] = []
    open_marks: list[tuple[dict, Decimal | None]] = []
    results: list[tuple[Decimal, Decimal]] = []  # (total pnl incl. floating, capital) per subscription
    events: list[datetime] = []
    for row in ran:
        trades = by_subscription.get(row["pk"], [])
        capital = _capital(row, trades)
        record.capital += capital
        subscription_pnl = Decimal(0)
        for trade in trades:
            events.append(trade["entry_time"])
            if trade["status"] == Trade.Status.CLOSED:
                closed.append(trade)
                subscription_pnl += trade["pnl"] or Decimal(0)
                events.append(trade["exit_time"] or trade["entry_time"])
            else:
                open_marks.append((trade, row["mark_price"]))
                subscription_pnl += _floating(trade, row["mark_price"])
        if row["last_log_at"] is not None:
            events += [row["first_log_at"], row["last_log_at"]]
        results.append((subscription_pnl, capital))
    record.subscriptions = len(ran)
    record.realized_pnl = sum((t["pnl"] or Decimal(0) for t in closed), Decimal(0))
    record.floating_pnl = sum((_floating(t, mark) for t, mark in open_marks), Decimal(0))
    record.open_trades = len(open_marks)
    curve = _daily_curve(record.capital, closed, [t for t, _ in open_marks], min(events), max(events))
    if open_marks:
        last = curve[-1]
        curve[-1] = EquityPoint(last.time_ms, last.equity + record.floating_pnl, True)
    stat_trades = [_stat_trade(t) for t in sorted(closed, key=lambda t: t["exit_time"] or t["entry_time"])]
    if record.capital > 0:
        record.stats = compute_stats(stat_trades, curve, starting_balance=record.capital, timeframe_ms=DAY_MS)
    record.equity_curve = downsample([{"time_ms": p.time_ms, "equity": amount_json(p.equity)} for p in curve])
    record.distribution = distribution(results)
    return record


def _daily_curve(
    capital: Decimal, closed: list[dict], still_open: list[dict], first: datetime, last: datetime
) -> list[EquityPoint]:
    """Equity at the end of each UTC day from `first` to `last` (closed P&L only; the caller marks the open).

    Linear in days + trades: the days a position was open at the close are counted with a difference array.
    """
    one_day = timedelta(days=1)
    start_end, final_end = _day_end(first), _day_end(last)
    days = (final_end - start_end).days + 1
    realized_by_day = [Decimal(0)] * days
    for trade in closed:
        day = ((trade["exit_time"] or trade["entry_time"]) - start_end) // one_day + 1
        realized_by_day[min(max(day, 0), days - 1)] += trade["pnl"] or Decimal(0)
    # open_delta[k] counts positions open at the end of day k: open when entry < day_end <= exit.
    open_delta = [0] * (days + 1)
    for trade in [*closed, *still_open]:
        first_day = (_day_end(trade["entry_time"]) - start_end).days
        last_day = days - 1 if trade["exit_time"] is None else (trade["exit_time"] - start_end) // one_day
        first_day, last_day = max(first_day, 0), min(last_day, days - 1)
        if first_day <= last_day:
            open_delta[first_day] += 1
            open_delta[last_day + 1] -= 1
    points, realized, open_positions = [], Decimal(0), 0
    for day in range(days):
        realized += realized_by_day[day]
        open_positions += open_delta[day]
        # The point's time is the day's start, as a candle's open time labels a backtest point.
        day_start = start_end + (day - 1) * one_day
        points.append(EquityPoint(int(day_start.timestamp() * 1000), capital + realized, open_positions > 0))
    return points


def _stat_trade(trade: dict) -> StatTrade:
    cost = _cost(trade)
    pnl = trade["pnl"] or Decimal(0)
    exit_time = trade["exit_time"] or trade["entry_time"]
    return StatTrade(
        entry_time_ms=int(trade["entry_time"].timestamp() * 1000),
        exit_time_ms=int(exit_time.timestamp() * 1000),
        entry_price=trade["entry_price"],
        exit_price=Decimal(0),
        quantity=trade["quantity"],
        fee=trade["entry_fee"] + trade["exit_fee"],
        pnl=pnl,
        pnl_pct=float(pnl / cost) if cost else 0.0,
        exit_reason=ExitReason.SIGNAL,
        entry_index=0,
        exit_index=0,
    )


def distribution(results: list[tuple[Decimal, Decimal]]) -> Distribution | None:
    """Min, median and max of the subscriptions' P&L and ROI, and a histogram of the ROIs (None without any)."""
    if not results:
        return None
    pnls = sorted(pnl for pnl, _ in results)
    rois = sorted(float(pnl / capital) for pnl, capital in results if capital > 0)
    return Distribution(
        count=len(results),
        pnl_min=pnls[0],
        pnl_median=median(pnls),
        pnl_max=pnls[-1],
        roi_min=rois[0] if rois else None,
        roi_median=median(rois) if rois else None,
        roi_max=rois[-1] if rois else None,
        histogram=histogram(rois),
    )


def histogram(values: list[float], buckets: int = HISTOGRAM_BUCKETS) -> list[Bucket]:
    """Equal-width buckets from the smallest to the largest value (one bucket when they are all equal)."""
    if not values:
        return []
    low, high = min(values), max(values)
    if high == low:
        return [Bucket(low, high, len(values), 100)]
    width = (high - low) / buckets
    counts = [0] * buckets
    for value in values:
        counts[min(int((value - low) / width), buckets - 1)] += 1
    fullest = max(counts)
    return [
        Bucket(low + i * width, low + (i + 1) * width, count, round(100 * count / fullest))
        for i, count in enumerate(counts)
    ]
