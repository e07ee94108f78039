"""Login lockouts: the pieces of django-axes' policy that are ours (settings: AXES_* in marketplace/settings/base.py).

Every login form (the site's, the admin's) authenticates through `django.contrib.auth.authenticate`, where axes'
backend refuses a locked-out attempt and its signal handler counts failures. Failures are counted per account and
per client independently (AXES_LOCKOUT_PARAMETERS), so neither many emails from one address nor one email from many
addresses escapes the limit. While locked, the right password is refused too: otherwise a lock would only slow a
guesser down. Staff see attempts in the admin and lift a lockout there (accounts.services.login_lockout_lift).
"""

import math

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


def normalise_email(value) -> str | None:
    """The account name lockouts count under: emails are case-insensitive logins here (UserManager), so
    "Alice@x" and "alice@x " must be one account, not six chances more."""
    value = (value or "").strip().lower() if isinstance(value, str) else ""
    return value[:255] or None


def lockout_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """AXES_USERNAME_CALLABLE: the normalised email of a login attempt, from the credentials given to
    authenticate() or, without them, from the posted form."""
    if credentials:
        return normalise_email(credentials.get("username"))
    data = getattr(request, "data", None) or getattr(request, "POST", None) or {}
    return normalise_email(data.get("username"))


class LockoutHandler(AxesDatabaseHandler):
    """Axes' database handler, except that a successful login forgets only its own account's failures.

    Axes' own reset deletes every attempt matching any lockout parameter, so one success from an address would
    also erase that address's failures against other accounts: an attacker with one account of their own could
    reset the per-client count at will.
    """

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        username = get_client_username(request, credentials)
        if not username:
            return 0
        count, _ = AccessAttempt.objects.filter(username=username).delete()
        return count


def lockout_response(request: HttpRequest, original_response=None, credentials: dict | None = None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the page shown instead of a login form's answer while locked out, status 429.

    Every attempt during a lockout restarts the cool-off (axes' AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT), so
    the wait runs from this attempt.
    """
    cool_off = get_cool_off(request)
    retry_after_s = int(cool_off.total_seconds())
    attempted_at = getattr(request, "axes_attempt_time", None) or timezone.now()
    context = {
        "retry_at": attempted_at + cool_off,
        "minutes": math.ceil(retry_after_s / 60),
    }
    response = render(request, "accounts/locked_out.html", context, status=429)
    response["Retry-After"] = str(retry_after_s)
    return response
