"""Domain errors of the bots app; messages are safe to show to staff and developers."""

from common.errors import DomainError


class BotError(DomainError):
    """Base class; `str(exc)` is a message for the user."""


class IllegalBotTransition(BotError):
    def __init__(self, bot, target: str) -> None:
        super().__init__(f"“{bot.name}” is {bot.get_status_display().lower()} and cannot become {target.lower()}.")


class RejectionReasonRequired(BotError):
    def __init__(self) -> None:
        super().__init__("A rejection needs a reason: the developer will read it.")


class UploadRejected(BotError):
    """An uploaded code or model file is refused (wrong kind, too big, an unsafe zip). Nothing was stored.

    `field` names the form field the message belongs to: "code_file", "model_file" or "version".
    """

    def __init__(self, message: str, *, field: str = "code_file") -> None:
        super().__init__(message)
        self.field = field


class CodeIntegrityError(BotError):
    """A copy of a version's code (from storage, or cached on a worker) is not what was uploaded: its content hash
    (`BotVersion.code_sha256`) differs. The code is not run."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"This bot version was not run: {detail}.")


class UploadConflict(UploadRejected):
    """The upload lost a race: the same version of the bot was stored at the same moment. Nothing was stored.
    A 409 in the API (common.api.exceptions reads `status_code` and `code`)."""

    status_code = 409
    code = "conflict"


class BotConfigInvalid(BotError):
    """The config schema or the default config of an upload is invalid.

    `errors` maps "config_schema" / "default_config" to a list of `{"field", "message"}` dicts (bots.sdk's shape).
    """

    def __init__(self, errors: dict[str, list[dict[str, str]]]) -> None:
        self.errors = errors
        parts = [
            f"{where}: {item['field'] or 'the whole'} — {item['message']}"
            for where, items in errors.items()
            for item in items
        ]
        super().__init__("The bot's configuration is invalid. " + "; ".join(parts))


class NotBotDeveloper(BotError):
    """Only developers create bots, and only a bot's own developer uploads its versions."""

    def __init__(self, message: str = "Only the bot's developer can do this.") -> None:
        super().__init__(message)


class BotNotValidated(BotError):
    """Staff tried to approve a bot whose newest version has not passed the automatic validation."""
