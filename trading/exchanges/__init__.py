"""One adapter per exchange family behind `trading.exchanges.base.ExchangeAdapter`."""
