"""Domain errors of backtest runs; messages are safe to show to the user."""

from bots.exceptions import BotError


class BacktestRunInvalid(BotError):
    """Bad input to backtest_run_create; nothing was stored.

    `errors` maps a field to its messages: `market`, `candle_count`, `starting_balance`, `fee_rate`,
    `slippage_rate`, `bot`, and `strategy_config.<key>`, `execution_config.<key>`, `risk_config.<key>` (the shape of
    subscriptions.exceptions.SubscriptionInvalid, so the same form code shows them next to their fields).
    """

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = {field: list(messages) for field, messages in errors.items()}
        super().__init__("; ".join(f"{field}: {' '.join(messages)}" for field, messages in self.errors.items()))


class BacktestRunLimit(BotError):
    """The user has as many backtests waiting or running as allowed."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"You already have {limit} backtest{'s' if limit != 1 else ''} waiting or running. "
            "Wait until one finishes, then start the next."
        )
