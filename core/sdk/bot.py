"""The two base classes a bot author subclasses: ``Bot`` (per-candle ``decide``) and ``VectorBot`` (``populate``).

Life cycle, the same live and in a backtest:
1. the platform validates the user's config with ``cls.validate_config(config)`` (schema + defaults +
   ``check_config``) and builds ``cls(config, state)``;
2. for each newly closed candle it calls ``bot.decide(candles)`` with the closed candles up to and
   including that one (at least ``startup_candles + 1`` of them) and acts on the returned ``Decision``;
3. it persists ``bot.state`` (a small JSON-safe dict) until the next run.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from .candles import Candles
from .config import ConfigError, validate_config
from .decision import Action, Decision
from .signals import Signals


class Bot:
    """Base class of every bot.

    Class attributes a subclass sets:
    - ``slug``, ``name``, ``description``: how the catalog shows it;
    - ``startup_candles``: how many candles *before* the decided one the indicators need to be valid
      (an instance may override it when it depends on the config, e.g. ``3 * slow``);
    - ``config_schema``: a JSON Schema (draft 2020-12) object; every property has a ``default``.
    """

    slug: ClassVar[str] = ""
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    startup_candles: int = 0
    config_schema: ClassVar[dict[str, Any]] = {"type": "object", "properties": {}, "additionalProperties": False}

    def __init__(self, config: dict[str, Any], state: dict[str, Any] | None = None) -> None:
        """``config`` has been validated and has its defaults filled; ``state`` is what the last run left (or None).

        Cross-field rules (``check_config``) are re-checked here so a bot never runs with a config
        its schema alone cannot reject.
        """
        self.config: dict[str, Any] = dict(config)
        self.state: dict[str, Any] = dict(state or {})
        self.check_config(self.config)

    # -- config ---------------------------------------------------------------------------------

    @classmethod
    def check_config(cls, config: dict[str, Any]) -> None:
        """Cross-field rules JSON Schema cannot express simply (e.g. ``fast < slow``). Raise ``ConfigError``."""

    @classmethod
    def validate_config(cls, config: Mapping[str, Any] | None) -> dict[str, Any]:
        """Schema validation, defaults, then ``check_config``. Returns the filled config; raises ``ConfigError``."""
        filled = validate_config(cls.config_schema, config)
        cls.check_config(filled)
        return filled

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None = None, state: dict[str, Any] | None = None) -> Self:
        """Validate ``config`` and build the bot: the one call the platform makes."""
        return cls(cls.validate_config(config), state)

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """Catalog metadata: slug, name, description, default startup_candles and config_schema."""
        return {
            "slug": cls.slug,
            "name": cls.name,
            "description": cls.description,
            "startup_candles": cls.startup_candles,
            "config_schema": cls.config_schema,
        }

    # -- deciding -------------------------------------------------------------------------------

    def decide(self, candles: Candles) -> Decision:
        """Decide for ``candles[-1]``, the candle that just closed. ``candles`` holds only closed candles.

        The decision is acted on at the next candle's open (see docs/statistics.md, "fill model").
        """
        raise NotImplementedError(f"{type(self).__name__} must implement decide()")


class VectorBot(Bot):
    """A bot that computes signals for a whole candle array at once (fast backtests).

    ``populate`` must respect the no-lookahead rule: row ``i`` depends on candles ``0..i`` only.
    ``decide`` is derived from it, so live runs and backtests share one code path.
    """

    def populate(self, candles: Candles) -> Signals:
        """Return one ``Signals`` row per candle."""
        raise NotImplementedError(f"{type(self).__name__} must implement populate()")

    def reason(self, action: Action, indicators: dict[str, float]) -> str:
        """Human-readable reason for a BUY/SELL row (shown in logs). Override to explain the rule."""
        return f"{self.slug or type(self).__name__}: {action.value}"

    def signals(self, candles: Candles) -> Signals:
        """``populate`` plus a length check: the platform's way to call it."""
        signals = self.populate(candles)
        if not isinstance(signals, Signals):
            raise TypeError(f"{type(self).__name__}.populate() must return Signals, got {type(signals).__name__}")
        if len(signals) != len(candles):
            raise ValueError(
                f"{type(self).__name__}.populate() returned {len(signals)} rows for {len(candles)} candles"
            )
        return signals

    def decision_at(self, signals: Signals, index: int) -> Decision:
        """The ``Decision`` of row ``index`` of ``signals``, with that row's indicators."""
        action = signals.action_at(index)
        indicators = signals.indicators_at(index)
        reason = "" if action is Action.HOLD else self.reason(action, indicators)
        return Decision(action, None, reason, indicators)

    def decide(self, candles: Candles) -> Decision:
        if not len(candles):
            raise ValueError("decide() needs at least one closed candle")
        return self.decision_at(self.signals(candles), len(candles) - 1)


def config_error(field: str, message: str) -> ConfigError:
    """Shorthand for ``check_config``: a ``ConfigError`` about one field."""
    return ConfigError([{"field": field, "message": message}])
