"""Signal receivers of the accounts app, connected in AccountsConfig.ready(). Each only calls a service."""

from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from accounts import services
from accounts.login_lockout import lockout_username


@receiver(user_login_failed, dispatch_uid="accounts.audit_login_failure")
def audit_login_failure(sender, credentials: dict, request=None, **kwargs) -> None:
    # Connected after axes' own receiver (INSTALLED_APPS order), so the request already carries its failure count.
    services.user_login_failure_record(username=lockout_username(request, credentials), request=request)
