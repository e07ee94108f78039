"""Shared Django machinery every app may use: the API's error shape, schema helpers, pagination and parsers,
bounded JSON input, admin helpers and migration operations. It imports ``core`` and Django, never an app:
what it needs from an app (a domain error's status and code) the app gives it by subclassing ``common.errors``.
See docs/architecture.md.
"""
