"""Run a bot's decision for many subscriptions of one bot version on one candle window.

Built-in bots (`bot_versions.builtin_slug`) run in this process: their code is ours. Uploaded code never does: it
runs in the bubblewrap sandbox (bots.sandbox), one warm process per content hash and worker process, and one call
decides for every subscription of the batch. There is no unsandboxed fallback: when the sandbox cannot start,
uploaded bots do not run and their subscriptions say why (built-in bots go on).

Nothing that comes out of the sandbox is trusted (see bots.sandbox.wire and Decision.from_json), and nothing that
goes wrong in it escapes these functions but as BotUnavailable or as one subscription's `BotAnswer.error`: one bad
bot never stops a batch.

Uploaded code is addressed by its content hash (`BotVersion.code_sha256`, bots.code_digest): it is cached on this
machine in var/bot-code/<sha256>/, hashed again before a sandbox is started from it, and refused when it differs.
"""

import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from bots.exceptions import CodeIntegrityError
from bots.models import BotVersion
from bots.sandbox import SandboxError, SandboxPool, SandboxUnavailable
from core.builtin import UnknownBuiltinBot, get_builtin
from core.sdk import Bot, Candles, ConfigError, Decision, validate_config

logger = logging.getLogger(__name__)

SANDBOX_UNAVAILABLE_MESSAGE = (
    "Uploaded bots cannot run at the moment: the bot sandbox is unavailable on the worker. "
    "Nothing was run without it; the platform's operators have been alerted."
)
INTERNAL_ERROR_MESSAGE = "The bot could not run because of an error on the platform's side; it has been logged."


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
    # A pool must not cross a fork (Celery's prefork children each build their own). Its bots always require the
    # sandbox (the default): there is no fallback that runs uploaded code without one.
    global _pool, _pool_pid
    with _lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = SandboxPool(max_size=16)
            _pool_pid = os.getpid()
        return _pool


def code_sha256(version: BotVersion) -> str:
    """The version's content hash; computed from storage and saved when the version predates the column and the
    migration could not read its files (trust on first use, as the cache did before)."""
    from bots.uploads import stored_digest

    if not version.code_sha256:
        digest = stored_digest(code_path=version.code_path, model_path=version.model_path)
        BotVersion.objects.filter(pk=version.pk, code_sha256="").update(code_sha256=digest)
        version.code_sha256 = digest
    return version.code_sha256


def _code_folder(version: BotVersion, *, verify: bool = True) -> tuple[Path, Path | None]:
    """The version's code (and model) copied out of storage once per machine into var/bot-code/<sha256>/.

    The folder is named by the content hash, never by the version id (ids come back after a database reset, and
    another developer's code must never run under one). A new copy is hashed before it takes its place; an
    existing one is hashed again when `verify` (before a sandbox is started from it). Raises CodeIntegrityError
    when a copy does not hash to the version's `code_sha256`; a damaged cached copy is removed, so the next run
    copies the code from storage again.
    """
    from bots.uploads import folder_verify, upload_materialize

    if not version.code_path:
        raise BotUnavailable(f"{version} has no code.")
    digest = code_sha256(version)
    target = Path(settings.VAR_DIR) / "bot-code" / digest
    created = False
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".staging-"))
        try:
            upload_materialize(
                code_path=version.code_path, model_path=version.model_path, folder=staging, expected_sha256=digest
            )
            try:
                staging.rename(target)  # atomic: a concurrent worker either sees nothing or the complete folder
                created = True
            except OSError:
                pass  # another process won the race: its folder is verified below like any other
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    if verify and not created:
        try:
            folder_verify(target, digest)
        except CodeIntegrityError:
            logger.error("cached code of %s in %s does not match its hash %s; removed", version, target, digest)
            shutil.rmtree(target, ignore_errors=True)
            raise
    model = next((p for p in target.iterdir() if p.is_file()), None)
    return target / "code", model


def _sandboxed(version: BotVersion):
    """A leased warm sandbox of the version's code (a context manager), keyed by its content hash.

    The cached folder is hashed again only when the pool has no warm process for that hash: a warm one copied
    the code when it started from a folder that had been verified."""
    pool = _sandbox_pool()
    digest = code_sha256(version) if version.code_path else ""
    code, model = _code_folder(version, verify=digest not in set(pool.keys()))
    return pool.bot(digest, code, model_path=model)


def _unavailable_message(exc: Exception) -> str:
    """What a subscriber or developer may read about a failure to run uploaded code (never a host path)."""
    if isinstance(exc, SandboxUnavailable):
        logger.error("uploaded bots cannot run: %s", exc)
        return SANDBOX_UNAVAILABLE_MESSAGE
    if isinstance(exc, (SandboxError, CodeIntegrityError, BotUnavailable)):
        return str(exc)  # these messages are written to be shown (bots.sandbox.errors, bots.exceptions)
    logger.exception("running uploaded bot code failed")
    return INTERNAL_ERROR_MESSAGE


def required_candles(version: BotVersion, config: dict) -> int:
    """Closed candles the bot needs for one decision: its warm-up plus the candle decided on.

    Raises ConfigError (a built-in's config) or BotUnavailable (whatever stops uploaded code from loading)."""
    if version.builtin_slug:
        return int(bot_class(version).from_config(config).startup_candles) + 1
    try:
        with _sandboxed(version) as bot:
            return int(bot.load().startup_candles) + 1
    except BotUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the sandbox layer raises is this version's failure
        raise BotUnavailable(f"The bot could not start: {_unavailable_message(exc)}") from None


def decide_many(version: BotVersion, requests: list[BotRequest], candles: Candles) -> dict[int, BotAnswer]:
    """One decision per subscription, for every request. Never raises: a bot's error, a refused answer or a
    sandbox that cannot run is that subscription's (or every subscription's) `BotAnswer.error`."""
    if not version.builtin_slug:
        return _decide_sandboxed(version, requests, candles)
    try:
        cls = bot_class(version)
    except BotUnavailable as exc:
        return {r.subscription_id: BotAnswer(None, r.state, str(exc)) for r in requests}
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
    except Exception as exc:  # noqa: BLE001 - the sandbox layer's failure is every subscription's, never the batch's
        message = f"The bot failed in its sandbox: {_unavailable_message(exc)}"
        return {r.subscription_id: BotAnswer(None, r.state, message) for r in requests}
    answers = {}
    for request, result in zip(requests, results, strict=False):
        if result.ok:
            answers[request.subscription_id] = BotAnswer(result.decision, dict(result.state or {}))
        else:
            answers[request.subscription_id] = BotAnswer(None, request.state, f"The bot failed: {result.error}")
    for request in requests:  # SandboxedBot.decide answers each one; a missing answer must still not be a KeyError
        answers.setdefault(request.subscription_id, BotAnswer(None, request.state, INTERNAL_ERROR_MESSAGE))
    return answers
