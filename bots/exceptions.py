"""Domain errors of the bots app; messages are safe to show to staff and developers."""


class BotError(Exception):
    """Base class; `str(exc)` is a message for the user."""


class IllegalBotTransition(BotError):
    def __init__(self, bot, target: str) -> None:
        super().__init__(f"“{bot.name}” is {bot.get_status_display().lower()} and cannot become {target.lower()}.")


class RejectionReasonRequired(BotError):
    def __init__(self) -> None:
        super().__init__("A rejection needs a reason: the developer will read it.")


class ReviewNotAllowed(BotError):
    """Only traders who have or had a subscription to a bot may review it, and never its own developer."""

    def __init__(self) -> None:
        super().__init__("Only traders who subscribed to this bot can review it.")


class InvalidReview(BotError):
    """A rating outside 1–5, or a text that is too long."""
