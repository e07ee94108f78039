"""Domain errors of the subscriptions app; messages are safe to show the subscription's owner."""


class SubscriptionError(Exception):
    """Base class; `str(exc)` is a message for the user."""


class IllegalSubscriptionTransition(SubscriptionError):
    def __init__(self, subscription, target: str) -> None:
        super().__init__(
            f"“{subscription.instance_name}” is {subscription.get_status_display().lower()} "
            f"and cannot be {target.lower()}."
        )
