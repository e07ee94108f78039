"""Template filters for money, ratios and times, following docs/statistics.md: amounts are Decimals (or their
strings), ratios are fractions (0.05 is 5 %), times are epoch milliseconds or aware datetimes (shown in UTC)."""

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()
DASH = "—"


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _with_sign(number: Decimal, text: str) -> str:
    """`text` (an absolute value) with "+" on gains and a true minus on losses; zero unsigned."""
    if number > 0:
        return f"+{text}"
    if number < 0:
        return f"−{text}"
    return text


@register.filter
def money(value, places: int = 2) -> str:
    """1234.5 -> "1,234.50"; None -> "—". Rounded for display only (half-even, Python's default)."""
    number = _decimal(value)
    if number is None:
        return DASH
    return f"{number:,.{int(places)}f}"


@register.filter
def signed_money(value, places: int = 2) -> str:
    """Like money, with an explicit "+" on gains: "+12.30", "−4.00"."""
    number = _decimal(value)
    if number is None:
        return DASH
    return _with_sign(number, f"{abs(number):,.{int(places)}f}")


@register.filter
def pct(value, places: int = 1) -> str:
    """A fraction as a percent: 0.0523 -> "5.2 %"; None -> "—"."""
    number = _decimal(value)
    if number is None:
        return DASH
    return f"{number * 100:,.{int(places)}f} %"


@register.filter
def signed_pct(value, places: int = 1) -> str:
    """Like pct, with an explicit sign: "+5.2 %", "−1.0 %"."""
    number = _decimal(value)
    if number is None:
        return DASH
    return _with_sign(number, f"{abs(number) * 100:,.{int(places)}f} %")


@register.filter
def number(value, places: int = 2) -> str:
    """A plain ratio (Sharpe, profit factor): 1.2345 -> "1.23"; None -> "—"."""
    number_ = _decimal(value)
    return DASH if number_ is None else f"{number_:,.{int(places)}f}"


@register.filter
def gain_class(value) -> str:
    """CSS class for a signed amount: "gain", "loss" or ""."""
    number_ = _decimal(value)
    if number_ is None or number_ == 0:
        return ""
    return "gain" if number_ > 0 else "loss"


@register.filter
def from_ms(value) -> datetime | None:
    """Epoch milliseconds -> an aware UTC datetime (for the |date filter)."""
    if value in (None, ""):
        return None
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC)


@register.filter
def ms_days(value) -> str:
    """A duration in milliseconds as days: 259200000 -> "3.0 days"."""
    if value in (None, ""):
        return DASH
    return f"{int(value) / 86_400_000:,.1f} days"


@register.filter
def pretty_json(value) -> str:
    """A JSON value indented for reading (the template escapes it)."""
    import json

    return json.dumps(value, indent=2, sort_keys=True, default=str)
