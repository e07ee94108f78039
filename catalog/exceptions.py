"""Refusals of the review rules. Derived from bots.exceptions.BotError: a bot's page shows any of them the same way."""

from bots.exceptions import BotError


class ReviewNotAllowed(BotError):
    """Only traders who have or had a subscription to a bot may review it, and never its own developer."""

    def __init__(self) -> None:
        super().__init__("Only traders who subscribed to this bot can review it.")


class InvalidReview(BotError):
    """A rating outside 1–5, or a text that is too long."""
