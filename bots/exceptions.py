"""Domain errors of the bots app; messages are safe to show to staff and developers."""


class BotError(Exception):
    """Base class; `str(exc)` is a message for the user."""


class IllegalBotTransition(BotError):
    def __init__(self, bot, target: str) -> None:
        super().__init__(f"“{bot.name}” is {bot.get_status_display().lower()} and cannot become {target.lower()}.")


class RejectionReasonRequired(BotError):
    def __init__(self) -> None:
        super().__init__("A rejection needs a reason: the developer will read it.")
