"""The base of every app's anticipated errors: a failure whose message is written to be shown to the user.

Each app's ``exceptions.py`` derives its own base error from ``DomainError``; the API turns any of them into its one
error shape (common.api.exceptions) with the error's ``status_code`` (400 unless it names another) and ``code``
(``invalid`` unless it names another), so the shared layer never needs to know the apps.
"""


class DomainError(Exception):
    """An anticipated failure with a message for the user (and optionally `status_code`, `code`, `errors`)."""
