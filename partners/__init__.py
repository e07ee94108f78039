"""The partner marketplace API: registrations of approved bots and the principals they serve (docs/partner-api.md)."""
