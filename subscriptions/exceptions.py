"""Domain errors of the subscriptions app; messages are safe to show the subscription's owner."""

from common.errors import DomainError


class SubscriptionError(DomainError):
    """Base class; `str(exc)` is a message for the user."""


class IllegalSubscriptionTransition(SubscriptionError):
    def __init__(self, subscription, target: str) -> None:
        super().__init__(
            f"“{subscription.instance_name}” is {subscription.get_status_display().lower()} "
            f"and cannot be {target.lower()}."
        )


class SubscriptionInvalid(SubscriptionError):
    """Bad input to subscription_create / subscription_update_config; nothing was stored.

    `errors` maps a field to its messages. Fields are named as the service's arguments: `instance_name`,
    `exchange_type`, `trading_pair`, `timeframe`, `mode`, `mainnet_confirmed`, `trial`, `bot`, and
    `strategy_config.<key>`, `execution_config.<key>`, `risk_config.<key>` for a key of a config (the config's
    name alone for the config as a whole).
    """

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = {field: list(messages) for field, messages in errors.items()}
        super().__init__("; ".join(f"{field}: {' '.join(messages)}" for field, messages in self.errors.items()))
