"""What every endpoint under /api/v1/ shares: one error shape, schema helpers, pagination, bounded JSON bodies.
See docs/api.md (API-key authentication is accounts.authentication)."""
