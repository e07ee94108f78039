"""One adapter per exchange (`binance.py`, `bybit.py`, ...) behind `trading.exchanges.base.ExchangeAdapter`, found by
`registry.adapter_class`; `clients.adapter_for` gives one over the worker's ccxt client for a credential."""
