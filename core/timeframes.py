"""Candle timeframes and their boundaries, in UTC.

Candles are aligned on the Unix epoch (as every exchange the platform supports aligns them): a `1h` candle opens
on the hour, a `4h` candle at 00:00, 04:00, ... UTC, a `1d` candle at 00:00 UTC. A candle *closes* when the next one
opens, so "the candle that closed at 13:00" is the one that opened at 12:00.
"""

from datetime import UTC, datetime, timedelta

TIMEFRAME_SECONDS: dict[str, int] = {
    "1m": 60,
    "5m": 5 * 60,
    "15m": 15 * 60,
    "30m": 30 * 60,
    "1h": 60 * 60,
    "4h": 4 * 60 * 60,
    "1d": 24 * 60 * 60,
}
SUPPORTED_TIMEFRAMES = tuple(TIMEFRAME_SECONDS)


class UnsupportedTimeframe(ValueError):
    def __init__(self, timeframe: str) -> None:
        super().__init__(f"Timeframe {timeframe!r} is not supported; choose one of {', '.join(SUPPORTED_TIMEFRAMES)}.")


def seconds(timeframe: str) -> int:
    try:
        return TIMEFRAME_SECONDS[timeframe]
    except KeyError:
        raise UnsupportedTimeframe(timeframe) from None


def duration(timeframe: str) -> timedelta:
    return timedelta(seconds=seconds(timeframe))


def _require_aware(moment: datetime) -> None:
    # A naive datetime here is a bug: we would silently compute candle boundaries in the server's local time.
    if moment.tzinfo is None:
        raise ValueError("candle arithmetic needs a timezone-aware datetime")


def last_close(moment: datetime, timeframe: str) -> datetime:
    """The most recent candle close at or before `moment` (a close exactly at `moment` counts)."""
    _require_aware(moment)
    step = seconds(timeframe)
    epoch_s = int(moment.timestamp())
    return datetime.fromtimestamp(epoch_s - epoch_s % step, tz=UTC)


def next_close(moment: datetime, timeframe: str) -> datetime:
    """The first candle close strictly after `moment`."""
    return last_close(moment, timeframe) + duration(timeframe)


def to_ms(moment: datetime) -> int:
    _require_aware(moment)
    return int(moment.timestamp() * 1000)


def from_ms(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
