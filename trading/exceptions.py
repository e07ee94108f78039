"""Domain errors of the trading engine. Messages are safe to show the subscription's owner (no secret in them)."""

from common.errors import DomainError


class TradingError(DomainError):
    """Base class; `str(exc)` is a message for the user."""


class ExchangeNotSupported(TradingError):
    pass


class ConfigurationRefused(TradingError):
    """The subscription asks for something the platform does not do (margin, futures, a missing credential)."""


class StaleMarketData(TradingError):
    """The newest closed candle is too old to act on."""


class MarketDataUnavailable(TradingError):
    pass


class CredentialInvalid(TradingError):
    """The exchange refused the key (authentication or permissions)."""


class OrderRejected(TradingError):
    """The exchange refused the order for a reason that retrying will not fix (funds, filters)."""


class OrderOutcomeUnknown(TradingError):
    """A timeout or 5xx left it unknown whether the exchange took an order; it must be looked up, never resent."""


class RunInProgress(TradingError):
    """Another worker holds this run: it claimed one of the run's orders and has not reported its outcome yet. The
    run is left to that worker (not completed, not failed here); if it died, the lease and the reconciliation
    settle it."""
