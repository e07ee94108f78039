"""The public import path of the bot SDK: ``from bots.sdk import Bot, Decision, ...`` in an uploaded bot.

The SDK itself lives in ``core.sdk`` (Django-free, the copy the sandbox runs); this package re-exports it and
``bots.sdk.model`` / ``bots.sdk.testing`` are those very modules, so a bot written against either path is the same.
"""
from core.sdk import *  # noqa: F403 (the SDK's public names, as core.sdk lists them)
from core.sdk import __all__  # noqa: F401
