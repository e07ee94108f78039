"""The sandboxed runtime for uploaded bot code (pure Python, no Django). See docs/sandbox.md.

Uploaded code never runs in a web or worker process: it runs in a child process under bubblewrap, with
no network, no environment, a read-only view of the interpreter and its libraries only, a private
``/tmp`` and kernel resource limits. The host speaks to it in JSON lines (the protocol is described in
``bots.sandbox.child``).

    from bots.sandbox import SandboxedBot, SandboxPool, SandboxLimits

    with SandboxedBot("/path/to/code", entrypoint="mybot.strategy:MyBot") as bot:
        info = bot.load()                                      # BotInfo(slug, name, ..., vectorized)
        outcomes = bot.decide([{"id": 7, "config": {}, "state": {}}], candles)
        result = bot.backtest(candles, config={"fast": 12})    # BacktestResult.to_json(), computed here

Importing this package never imports Django; ``bots.sandbox.child`` is what runs inside the sandbox.
"""
from .command import sandbox_available, sandbox_check
from .errors import (
    SandboxBotError,
    SandboxCrashed,
    SandboxError,
    SandboxLookahead,
    SandboxProtocolError,
    SandboxStrayError,
    SandboxTimeout,
    SandboxUnavailable,
)
from .limits import SandboxLimits
from .pool import SandboxPool
from .process import BotInfo, SandboxedBot, SubscriptionDecision

__all__ = [
    "BotInfo",
    "SandboxBotError",
    "SandboxCrashed",
    "SandboxError",
    "SandboxLimits",
    "SandboxLookahead",
    "SandboxPool",
    "SandboxProtocolError",
    "SandboxStrayError",
    "SandboxTimeout",
    "SandboxUnavailable",
    "SandboxedBot",
    "SubscriptionDecision",
    "sandbox_available",
    "sandbox_check",
]
