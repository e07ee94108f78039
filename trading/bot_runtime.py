"""Run a bot's decision for many subscriptions of one bot version on one candle window.

Built-in bots (`bot_versions.builtin_slug`) run in this process: their code is ours. Uploaded code never does: it
runs in the bubblewrap sandbox (bots.sandbox), one warm process per version and worker process, and one call
decides for every subscription of the batch. Without a usable sandbox it does not run at all (bots.sandbox
fails closed in every configuration).
"""

import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from bots.builtin import UnknownBuiltinBot, get_builtin
from bots.models import BotVersion
from bots.sandbox import SandboxError, SandboxPool
from bots.sdk import Bot, Candles, ConfigError, Decision, validate_config


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
    """The version cannot run (unknown built-in, its code missing, the sandbox refused to start it)."""


def bot_class(version: BotVersion) -> type[Bot]:
    """The class of a built-in version. Raises BotUnavailable for uploaded code (it has no class in this process)."""
    if not version.builtin_slug:
        raise BotUnavailable(f"{version} is uploaded code: it runs only in the sandbox.")
    try:
        return get_builtin(version.builtin_slug)
    except UnknownBuiltinBot as exc:
        raise BotUnavailable(str(exc)) from None


def validate_bot_config(version: BotVersion, config: dict) -> dict:
    """The config with defaults filled, validated against the version's schema. Raises ConfigError."""
    if version.builtin_slug:
        return bot_class(version).validate_config(config)
    return validate_config(version.config_schema or {"type": "object", "properties": {}}, config)


# --- uploaded code: a pool of warm sandboxes per worker process -----------------------------------------------

_lock = threading.Lock()
_pool: SandboxPool | None = None
_pool_pid: int | None = None


def _sandbox_pool() -> SandboxPool:
    # A pool must not cross a fork (Celery's prefork children each build their own).
    global _pool, _pool_pid
    with _lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = SandboxPool(max_size=16)
            _pool_pid = os.getpid()
        return _pool


def _code_folder(version: BotVersion) -> tuple[Path, Path | None]:
    """The version's code (and model) copied out of storage once per machine, into var/bot-code/<version id>/."""
    from bots.uploads import upload_materialize

    if not version.code_path:
        raise BotUnavailable(f"{version} has no code.")
    target = Path(settings.VAR_DIR) / "bot-code" / str(version.pk)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent))
        upload_materialize(code_path=version.code_path, model_path=version.model_path, folder=staging)
        try:
            staging.rename(target)  # atomic: a concurrent worker either sees nothing or the complete folder
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)  # another process won the race
    model = next((p for p in target.iterdir() if p.is_file()), None)
    return target / "code", model


def _sandboxed(version: BotVersion):
    code, model = _code_folder(version)
    return _sandbox_pool().bot(version.pk, code, model_path=model)


def required_candles(version: BotVersion, config: dict) -> int:
    """Closed candles the bot needs for one decision: its warm-up plus the candle decided on."""
    if version.builtin_slug:
        return int(bot_class(version).from_config(config).startup_candles) + 1
    try:
        with _sandboxed(version) as bot:
            return int(bot.load().startup_candles) + 1
    except SandboxError as exc:
        raise BotUnavailable(f"The bot could not start: {exc}") from None


def decide_many(version: BotVersion, requests: list[BotRequest], candles: Candles) -> dict[int, BotAnswer]:
    """One decision per subscription. A bot error is that subscription's answer; it never stops the others."""
    if not version.builtin_slug:
        return _decide_sandboxed(version, requests, candles)
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
            message = f"The bot failed: {type(exc).__name__}: {exc}"
            answers[request.subscription_id] = BotAnswer(None, request.state, message)
    return answers


def _decide_sandboxed(version: BotVersion, requests: list[BotRequest], candles: Candles) -> dict[int, BotAnswer]:
    payload = [{"id": r.subscription_id, "config": r.config, "state": r.state} for r in requests]
    try:
        with _sandboxed(version) as bot:
            results = bot.decide(payload, candles)
    except SandboxError as exc:
        return {r.subscription_id: BotAnswer(None, r.state, f"The bot failed in its sandbox: {exc}") for r in requests}
    answers = {}
    for request, result in zip(requests, results, strict=True):
        if result.ok:
            answers[request.subscription_id] = BotAnswer(result.decision, dict(result.state or {}))
        else:
            answers[request.subscription_id] = BotAnswer(None, request.state, f"The bot failed: {result.error}")
    return answers
