"""The platform's Django-free core: what a bot is and how its decisions become trades and figures.

``core.sdk`` (the bot SDK; uploaded bots import it as ``bots.sdk``), ``core.builtin`` (the platform's own bots),
``core.backtest`` (the one simulation loop, the account and the statistics), ``core.fill_model`` (how an order
fills, in backtests and paper trading alike), ``core.timeframes``, ``core.candle_files`` (which candle file
holds which market) and ``core.config_schemas`` (the published execution and risk settings). Nothing here imports
Django, the project's settings or any app: it is importable and testable on its own, and ``core.sdk`` is the very
copy the sandbox runs. See docs/architecture.md.
"""
