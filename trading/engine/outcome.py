"""What one run of a subscription did, as the decision log records it: the same shape for paper and exchange runs."""

from dataclasses import dataclass, field
from decimal import Decimal

from core.sdk import Action
from subscriptions.models import Trade
from trading.models import Order


@dataclass(frozen=True)
class Fill:
    """A fill the run caused or recorded: one decision log row each. `action` is a PerformanceLog action (BUY, SELL,
    STOP_LOSS, TAKE_PROFIT); `trade` is the trade it opened or closed."""

    action: str
    price: Decimal
    quantity: Decimal
    trade: Trade | None
    order: Order | None = None


@dataclass
class RunOutcome:
    """The run's fills in the order they happened, the account's free quote balance after it, and notes for the
    owner (orders refused, skipped, expired)."""

    fills: list[Fill] = field(default_factory=list)
    balance: Decimal = Decimal(0)
    notes: list[str] = field(default_factory=list)

    @property
    def action(self) -> str:
        """The run's outcome in one word: its last fill's action, HOLD when nothing filled."""
        return self.fills[-1].action if self.fills else Action.HOLD.value
