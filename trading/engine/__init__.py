"""The trading engine: one run of a subscription per closed candle (see docs/engine.md).

- `batch.run_batch` runs the subscriptions the scheduler claimed together (same market, same bot version): one
  candle fetch, one bot call, then each subscription in its own transaction.
- `paper` fills simulated orders with the fill model shared with backtests; `live` places orders on the exchange
  through order intents that make duplicates and losses impossible by design.
- `outcome.RunOutcome` is what a run of either kind did (its fills, the balance, notes), for the decision log;
  `records` writes trades, decision logs and counters.
"""
