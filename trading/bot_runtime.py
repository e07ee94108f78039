"""Run a bot's decision for many subscriptions of one bot version on one candle window.

Built-in bots (`bot_versions.builtin_slug`) run in this process: their code is ours. Uploaded code never does: it
runs in the bubblewrap sandbox (bots.sandbox) once that runtime is wired in; until then an uploaded bot is refused
with a clear message rather than run unsandboxed.
"""

from dataclasses import dataclass, field

from bots.builtin import UnknownBuiltinBot, get_builtin
from bots.models import BotVersion
from bots.sdk import Bot, Candles, ConfigError, Decision


@dataclass(frozen=True)
class BotRequest:
    subscription_id: int
    config: dict
    state: dict = field(default_factory=dict)


@dataclass(frozen=True)
class BotAnswer:
    decision: Decision | None
    state: dict
    error: str = ""


class BotUnavailable(Exception):
    """The version cannot run here (unknown built-in, uploaded code without the sandbox runtime)."""


def bot_class(version: BotVersion) -> type[Bot]:
    if not version.builtin_slug:
        raise BotUnavailable(f"{version}: uploaded bots run only in the sandbox runtime, which is not enabled here.")
    try:
        return get_builtin(version.builtin_slug)
    except UnknownBuiltinBot as exc:
        raise BotUnavailable(str(exc)) from None


def required_candles(version: BotVersion, config: dict) -> int:
    """Closed candles the bot needs for one decision: its warm-up plus the candle decided on."""
    instance = bot_class(version).from_config(config)
    return int(instance.startup_candles) + 1


def decide_many(version: BotVersion, requests: list[BotRequest], candles: Candles) -> dict[int, BotAnswer]:
    """One decision per subscription. A bot error is that subscription's answer; it never stops the others."""
    cls = bot_class(version)
    answers: dict[int, BotAnswer] = {}
    for request in requests:
        try:
            bot = cls.from_config(request.config, request.state)
            decision = bot.decide(candles)
            if not isinstance(decision, Decision):
                raise TypeError(f"decide() returned {type(decision).__name__}, not a Decision")
            answers[request.subscription_id] = BotAnswer(decision, dict(bot.state))
        except ConfigError as exc:
            answers[request.subscription_id] = BotAnswer(None, request.state, f"Bot config is invalid: {exc}")
        except Exception as exc:  # noqa: BLE001 - a bot's bug is reported on its subscription, nothing else stops
            answers[request.subscription_id] = BotAnswer(
                None, request.state, f"The bot failed: {type(exc).__name__}: {exc}"
            )
    return answers
