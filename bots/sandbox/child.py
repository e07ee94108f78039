"""The sandbox child: imports one uploaded bot and answers the host's requests, one JSON line each.

It runs inside bubblewrap (see ``bots.sandbox.command``) and imports only the standard library,
numpy/TA-Lib/jsonschema and the runtime copies of ``bots.sdk``, ``core.backtest`` and
``core.fill_model`` found under ``--lib`` (never Django, never the project). The host starts it as

    python -I -B -c "<bootstrap>" /sandbox/lib --bot /bot --cpu-seconds 10 [--reap-strays]

The protocol
------------
The host writes one request per line on stdin; the child writes exactly one answer line per request on
its stdout and then waits for the next request. At start the child moves its stdout to a private file
descriptor and points fd 1 at stderr, so a bot's ``print()`` ends up in the (captured) stderr, not in
the protocol.

Request: a JSON object ``{"seq": <int>, "op": <str>, "cpu_seconds": <number, optional>, ...}``.
Answer:  ``{"seq": <the request's seq>, "ok": true, "result": ..., "cpu_s": <CPU seconds used so far>}`` or
         ``{"seq": ..., "ok": false, "error": {"kind", "message", "traceback", "errors"}, "cpu_s": ...}``
where ``kind`` is ``"bot"`` (the bot's code raised), ``"config"`` (a ``ConfigError``; ``errors`` holds its
``[{"field", "message"}]``) or ``"request"`` (the host sent a bad request).

Candles travel as rows ``[open_time_ms, open, high, low, close, volume]``, oldest first.

Ops:
- ``load`` ``{"entrypoint": "package.module:ClassName" | null}``: import the bot from ``--bot`` (``bot.py`` when
  no entrypoint is given; an entrypoint without ``:Class`` searches that module). The module must define
  exactly one ``Bot`` subclass (or the entrypoint names it). Result: ``{"slug", "name", "description",
  "startup_candles", "config_schema", "vectorized", "bot_class"}``. Must come first.
- ``decide`` ``{"candles": [...], "subscriptions": [{"id", "config", "state"}, ...]}``: one fresh bot instance
  per subscription (``from_config(config, state)``) decides for the last candle. Result: ``{"results": [...]}``,
  one per subscription in order: ``{"id", "decision": Decision.to_json(), "state": <new state>}`` or
  ``{"id", "error": <message>, "traceback": <text>, "config_errors": [...]}``. One failing subscription
  does not affect the others.
- ``bot_start`` ``{"config"}``: a fresh bot instance ``from_config(config)`` for a backtest or a lookahead check, and
  an empty candle history. Result ``{"startup_candles": <the instance's warm-up>}``.
- ``step`` ``{"candles": [<the rows after the ones already sent>]}``: the rows are appended to the history and the
  bot decides on the last of them, seeing a fresh copy of the history (no view of a larger buffer). Result
  ``Decision.to_json()``. The host sends only candles up to the one it wants decided, so a process that is
  only ever stepped never holds a candle after the one its bot decides on (see ``bots.sandbox.streaming``).
- ``populate`` ``{"candles"}``: ``VectorBot`` only: ``signals()`` of the ``bot_start`` instance over all the
  candles at once. Result ``{"actions": [+1/-1/0 per row], "rows": [[index, Decision.to_json()], ...]}`` for the
  rows that are not HOLD. The host trusts none of it: it verifies the rows it acts on in a fresh process.
- ``rows`` ``{"indices": [...]}``: the decisions at these rows of the last ``populate``: ``{"rows": [[index,
  decision], ...]}``.
- ``ping`` ``{}``: result ``{}`` (a round trip without bot code).

Module-level globals of the bot persist between calls of one process (it is reused for many calls and
subscriptions of the same bot version); per-subscription memory belongs in ``self.state``. The child computes no
statistics: backtests and lookahead checks are driven by the host from the decisions it answers.
"""
from __future__ import annotations

import argparse
import contextlib
import faulthandler
import importlib
import importlib.util
import json
import math
import os
import resource
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

import numpy as np

import core.sdk.model
from core.sdk import Bot, Candles, ConfigError, Decision, VectorBot


class RequestError(Exception):
    """The host sent a request the child cannot act on (a bug on the host side, not the bot's fault)."""


class BotLoadError(Exception):
    """The code folder does not hold exactly one usable Bot subclass."""


def cpu_used_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def arm_cpu_limit(seconds: float) -> None:
    """Allow ``seconds`` more CPU time from now: RLIMIT_CPU counts the process's whole life, so the soft limit
    is moved before each request. It never goes past the hard limit set before the interpreter started."""
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    wanted = math.ceil(cpu_used_s() + seconds)
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (wanted, hard))


def reap_strays() -> None:
    """Kill every process the bot forked and left behind, so none outlives the request.

    Only called inside the sandbox's own PID namespace (``--reap-strays``): there ``kill(-1)`` reaches just the
    sandbox's processes (never its PID 1). Outside one it would signal every process of the user.
    """
    with contextlib.suppress(ProcessLookupError):  # nothing left to kill
        os.kill(-1, signal.SIGKILL)
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return
        except InterruptedError:
            continue


def candles_from(request: dict) -> Candles:
    try:
        # One numpy conversion instead of a Python loop per value (open times in ms are exact as float64).
        table = np.array(request["candles"], dtype=np.float64)
        if table.size == 0:
            table = table.reshape(0, 6)
        if table.ndim != 2 or table.shape[1] != 6:
            raise ValueError("each row must be [open_time_ms, open, high, low, close, volume]")
        return Candles(table[:, 0].astype(np.int64), *(table[:, column] for column in range(1, 6)))
    except (KeyError, TypeError, ValueError) as error:
        raise RequestError(f"bad candles: {error}") from None


BAD_ROW = "bad candles: each row must be 6 finite numbers (time, open, high, low, close, volume)"


class History:
    """The candles streamed by ``step`` so far: only ever the candles up to the one being decided on.

    Kept in growing numpy buffers (appending is amortised O(1)); ``candles()`` copies the filled part.
    """

    def __init__(self) -> None:
        self.length = 0
        self.buffers = [np.empty(0, dtype=np.int64)] + [np.empty(0, dtype=np.float64) for _ in range(5)]

    def __len__(self) -> int:
        return self.length

    def extend(self, rows: Any) -> None:
        if not isinstance(rows, list) or not rows:
            raise RequestError("'candles' must be a non-empty list of rows")
        if len(rows) == 1 and self.length < len(self.buffers[0]):
            self.append(rows[0])  # the usual step: one new candle, room in the buffers
            return
        try:
            # One conversion for the whole batch (open times in ms are exact as float64: below 2**53).
            table = np.array(rows, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise RequestError(f"bad candles: {error}") from None
        if table.ndim != 2 or table.shape[1] != 6 or not np.isfinite(table).all() or (
            table[:, 0] != np.floor(table[:, 0])
        ).any():
            raise RequestError(BAD_ROW)
        times = table[:, 0].astype(np.int64)
        previous = self.buffers[0][self.length - 1] if self.length else None
        if (np.diff(times) <= 0).any() or (previous is not None and times[0] <= previous):
            raise RequestError("bad candles: open times must increase, after the candles already sent")
        needed = self.length + len(times)
        if needed > len(self.buffers[0]):
            capacity = max(needed, 2 * len(self.buffers[0]), 256)
            for position, buffer in enumerate(self.buffers):
                grown = np.empty(capacity, dtype=buffer.dtype)
                grown[: self.length] = buffer[: self.length]
                self.buffers[position] = grown
        self.buffers[0][self.length : needed] = times
        for position in range(1, 6):
            self.buffers[position][self.length : needed] = table[:, position]
        self.length = needed

    def append(self, row: Any) -> None:
        """One candle, checked as ``extend`` checks a batch, without numpy's per-call overhead."""
        try:
            if not isinstance(row, list) or len(row) != 6:
                raise ValueError("not 6 numbers")
            time_ms, *prices = (float(value) for value in row)
        except (TypeError, ValueError):
            raise RequestError(BAD_ROW) from None
        if not all(math.isfinite(value) for value in (time_ms, *prices)) or not time_ms.is_integer():
            raise RequestError(BAD_ROW)
        if self.length and time_ms <= self.buffers[0][self.length - 1]:
            raise RequestError("bad candles: open times must increase, after the candles already sent")
        self.buffers[0][self.length] = int(time_ms)
        for position, price in enumerate(prices, start=1):
            self.buffers[position][self.length] = price
        self.length += 1

    def candles(self) -> Candles:
        """The history as a ``Candles`` of fresh, read-only copies (``base`` None: no way back to the buffers)."""
        copy = object.__new__(Candles)  # already validated row by row in extend(): skip the O(n) checks
        for name, buffer in zip(Candles.__slots__, self.buffers, strict=True):
            column = np.array(buffer[: self.length], copy=True)
            column.setflags(write=False)
            object.__setattr__(copy, name, column)
        return copy


class Child:
    def __init__(self, bot_dir: str, pid: int, out=None) -> None:
        self.bot_dir = bot_dir
        self.pid = pid
        self.out = out
        self.bot_cls: type[Bot] | None = None
        self.session_bot: Bot | None = None
        self.history = History()
        self.signals = None

    # -- ops ------------------------------------------------------------------------------------

    def op_ping(self, request: dict) -> dict:
        return {}

    def op_load(self, request: dict) -> dict:
        if self.bot_cls is not None:
            raise RequestError("the bot is already loaded")
        self.bot_cls = find_bot_class(self.bot_dir, request.get("entrypoint"))
        cls = self.bot_cls
        return {
            "slug": str(cls.slug),
            "name": str(cls.name),
            "description": str(cls.description),
            "startup_candles": int(cls.startup_candles),
            "config_schema": cls.config_schema,
            "vectorized": issubclass(cls, VectorBot),
            "bot_class": f"{cls.__module__}:{cls.__qualname__}",
        }

    def op_decide(self, request: dict) -> dict:
        cls = self.loaded()
        candles = candles_from(request)
        subscriptions = request.get("subscriptions")
        if not isinstance(subscriptions, list):
            raise RequestError("'subscriptions' must be a list")
        # One Candles for every subscription: its arrays are read-only, so one bot cannot change them for the next.
        return {"results": [decide_one(cls, candles, subscription) for subscription in subscriptions]}

    def op_bot_start(self, request: dict) -> dict:
        cls = self.loaded()
        self.session_bot = None
        self.history = History()
        self.signals = None
        self.session_bot = cls.from_config(request.get("config"))
        return {"startup_candles": int(self.session_bot.startup_candles)}

    def op_step(self, request: dict) -> dict:
        bot = self.started()
        self.history.extend(request.get("candles"))
        if not len(self.history):
            raise RequestError("'step' needs at least one candle")
        # A fresh copy: the bot gets arrays that own their memory, never a view of the history buffer.
        decision = bot.decide(self.history.candles())
        if not isinstance(decision, Decision):
            raise TypeError(f"decide() must return a Decision, got {type(decision).__name__}")
        return decision.to_json()

    def op_populate(self, request: dict) -> dict:
        bot = self.started()
        if not isinstance(bot, VectorBot):
            raise RequestError("'populate' needs a VectorBot")
        candles = candles_from(request)
        self.signals = bot.signals(candles)
        codes = self.signals.action
        rows = [[int(index), bot.decision_at(self.signals, int(index)).to_json()] for index in np.nonzero(codes)[0]]
        return {"actions": codes.tolist(), "rows": rows}

    def op_rows(self, request: dict) -> dict:
        bot = self.started()
        indices = request.get("indices")
        if self.signals is None or not isinstance(indices, list):
            raise RequestError("'rows' needs a 'populate' first and a list of 'indices'")
        count = len(self.signals)
        if not all(type(index) is int and 0 <= index < count for index in indices):
            raise RequestError("'rows' indices must be rows of the last 'populate'")
        return {"rows": [[index, bot.decision_at(self.signals, index).to_json()] for index in indices]}

    def started(self) -> Bot:
        if self.session_bot is None:
            raise RequestError("no bot started: send 'bot_start' first")
        return self.session_bot

    def loaded(self) -> type[Bot]:
        if self.bot_cls is None:
            raise RequestError("no bot loaded: send 'load' first")
        return self.bot_cls

    # -- dispatch -------------------------------------------------------------------------------

    def handle(self, line: bytes, default_cpu_s: float) -> dict:
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError as error:
            return {"seq": None, "ok": False, "error": error_json("request", f"bad request line: {error}")}
        seq = request.get("seq")
        handler = getattr(self, f"op_{request.get('op')}", None)
        if handler is None:
            return {"seq": seq, "ok": False, "error": error_json("request", f"unknown op {request.get('op')!r}")}
        arm_cpu_limit(float(request.get("cpu_seconds") or default_cpu_s))
        try:
            return {"seq": seq, "ok": True, "result": handler(request)}
        except RequestError as error:
            return {"seq": seq, "ok": False, "error": error_json("request", str(error))}
        except ConfigError as error:
            return {"seq": seq, "ok": False, "error": error_json("config", str(error), errors=error.errors)}
        except (Exception, SystemExit) as error:  # the bot's code raised (SystemExit: it called sys.exit())
            return {"seq": seq, "ok": False, "error": error_json("bot", describe(error), tb=traceback.format_exc())}


def decide_one(cls: type[Bot], candles: Candles, subscription: Any) -> dict:
    if not isinstance(subscription, dict) or "id" not in subscription:
        raise RequestError("each subscription needs an 'id'")
    sub_id = subscription["id"]
    try:
        bot = cls.from_config(subscription.get("config"), subscription.get("state"))
        needed = int(bot.startup_candles) + 1
        if len(candles) < needed:
            return {"id": sub_id, "error": f"{len(candles)} candles given; this config needs at least {needed}"}
        decision = bot.decide(candles)
        if not isinstance(decision, Decision):
            raise TypeError(f"decide() must return a Decision, got {type(decision).__name__}")
        state = bot.state
        if not isinstance(state, dict):
            raise TypeError(f"state must be a dict, got {type(state).__name__}")
        json.dumps(state, allow_nan=False)  # JSON-safe now, or the whole answer would fail to encode
        return {"id": sub_id, "decision": decision.to_json(), "state": state}
    except ConfigError as error:
        return {"id": sub_id, "error": f"invalid config: {error}", "config_errors": error.errors}
    except (Exception, SystemExit) as error:
        return {"id": sub_id, "error": describe(error), "traceback": traceback.format_exc()}


def describe(error: BaseException) -> str:
    message = str(error)
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def error_json(kind: str, message: str, *, tb: str = "", errors: list | None = None) -> dict:
    return {"kind": kind, "message": message, "traceback": tb, "errors": errors or []}


def find_bot_class(bot_dir: str, entrypoint: str | None) -> type[Bot]:
    """The Bot subclass named by ``entrypoint`` (``module:Class``, or ``module`` to search it), else the one in
    ``bot.py``. Raises ``BotLoadError`` (reported as a bot error) when there is not exactly one."""
    if entrypoint:
        module_name, _, class_name = entrypoint.partition(":")
        module = importlib.import_module(module_name)
        if class_name:
            found = module
            for part in class_name.split("."):
                found = getattr(found, part, None)
            if not (isinstance(found, type) and issubclass(found, Bot)):
                raise BotLoadError(f"{entrypoint} is not a Bot subclass")
            return found
    else:
        path = Path(bot_dir) / "bot.py"
        if not path.is_file():
            raise BotLoadError("the code folder has no bot.py; give an entrypoint like 'mybot.strategy:MyBot'")
        spec = importlib.util.spec_from_file_location("bot", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["bot"] = module
        spec.loader.exec_module(module)
    candidates = [
        value for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, Bot) and value not in (Bot, VectorBot)
        and value.__module__ == module.__name__
    ]
    if len(candidates) != 1:
        names = ", ".join(sorted(cls.__name__ for cls in candidates)) or "none"
        raise BotLoadError(
            f"{module.__name__} must define exactly one Bot subclass (found {names}); name one in the entrypoint"
        )
    return candidates[0]


def write_answer(out, answer: dict, pid: int) -> None:
    if os.getpid() != pid:
        # A process the bot forked got here (it returned from decide() in the copy of this loop): only the
        # original process may answer, or the host would read two answers to one request.
        os._exit(0)
    try:
        data = json.dumps(answer, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        data = json.dumps({
            "seq": answer.get("seq"), "ok": False, "cpu_s": answer.get("cpu_s"),
            "error": error_json("bot", f"the bot's answer is not JSON-safe: {error}"),
        })
    out.write(data.encode() + b"\n")
    out.flush()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bot-sandbox-child")
    parser.add_argument("--bot", required=True)
    parser.add_argument("--cpu-seconds", type=float, default=10.0)
    parser.add_argument("--reap-strays", action="store_true")
    args = parser.parse_args(argv)

    faulthandler.enable()  # a segfault or abort prints the Python stack to stderr, which the host keeps
    # Keep the protocol streams to ourselves: fd 1 becomes stderr (a bot's print() must not corrupt an
    # answer) and fd 0 /dev/null (a bot reading stdin must not swallow the next request).
    protocol_out = os.fdopen(os.dup(1), "wb")
    protocol_in = os.fdopen(os.dup(0), "rb")
    os.dup2(2, 1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdout = sys.stderr

    core.sdk.model.model_dir_override = str(Path(args.bot) / "model")
    sys.path.insert(1, args.bot)  # after the runtime folder: the bot's files cannot shadow bots.sdk
    pid = os.getpid()
    child = Child(args.bot, pid, protocol_out)
    for line in protocol_in:
        answer = child.handle(line, args.cpu_seconds)
        if os.getpid() == pid and args.reap_strays:
            reap_strays()
        answer["cpu_s"] = round(cpu_used_s(), 3)
        write_answer(protocol_out, answer, pid)
