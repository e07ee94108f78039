"""What every endpoint under /api/v1/ shares: API-key authentication, one error shape, pagination. See docs/api.md."""
