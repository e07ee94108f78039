"""Writes of the accounts app: users, API keys, exchange credentials, and the audit log every sensitive write uses."""

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables

from accounts import api_keys, crypto
from accounts.client_ip import client_ip
from accounts.exceptions import CredentialError
from accounts.models import AuditLog, Exchange, ExchangeCredential, User
from accounts.networks import network_problem
from accounts.validators import email_is_reserved

# Exchanges whose API keys come with a passphrase (ccxt's `password`).
PASSPHRASE_EXCHANGES = {Exchange.COINBASE}


def audit_log_record(
    *,
    actor: User | None,
    action: str,
    instance=None,
    old_values: dict | None = None,
    new_values: dict | None = None,
    request: HttpRequest | None = None,
) -> AuditLog:
    """Write one audit row. Callers pass values that are safe to store: never a secret in clear."""
    ip_address = user_agent = None
    if request is not None:
        ip_address = client_ip(request)
        user_agent = request.META.get("HTTP_USER_AGENT") or None
    return AuditLog.objects.create(
        user=actor if actor is not None and actor.pk else None,
        action=action,
        table_name=instance._meta.db_table if instance is not None else None,
        record_id=instance.pk if instance is not None else None,
        old_values=old_values,
        new_values=new_values,
        ip_address=ip_address,
        user_agent=user_agent,
    )


@transaction.atomic
def user_create(*, email: str, password: str, role: str = User.Role.USER, **fields) -> User:
    """A person's account. Raises ValueError for an address in a reserved domain (accounts.validators): those are
    the partner API's principals' alone, and the sign-up form refuses them first with a message."""
    if email_is_reserved(email):
        raise ValueError("a person's account cannot use a reserved (.invalid) email address")
    user = User.objects.create_user(email=email, password=password, role=role, **fields)
    audit_log_record(actor=user, action="user.create", instance=user, new_values={"email": user.email, "role": role})
    return user


@transaction.atomic
def user_api_key_create(*, user: User, request: HttpRequest | None = None) -> str:
    """Give `user` a new API key (replacing any old one) and return it in clear: the only time it is seen."""
    clear_key = api_keys.generate()
    User.objects.filter(pk=user.pk).update(api_key=api_keys.hash_key(clear_key))
    user.refresh_from_db(fields=["api_key"])
    audit_log_record(actor=user, action="user.api_key_create", instance=user, request=request)
    return clear_key


@transaction.atomic
def user_api_key_revoke(*, user: User, request: HttpRequest | None = None) -> None:
    User.objects.filter(pk=user.pk).update(api_key=None)
    user.api_key = None
    audit_log_record(actor=user, action="user.api_key_revoke", instance=user, request=request)


@dataclass(frozen=True)
class ClearCredentials:
    """Decrypted exchange credentials for the engine's exchange adapter. `repr()` never shows them."""

    api_key: str
    secret: str
    passphrase: str | None = None

    def __repr__(self) -> str:
        return "ClearCredentials(api_key='[REDACTED]', secret='[REDACTED]', passphrase='[REDACTED]')"

    __str__ = __repr__


@sensitive_variables("api_key", "api_secret", "passphrase")
@transaction.atomic
def credential_create(
    *,
    user: User,
    exchange: str,
    api_key: str,
    api_secret: str,
    passphrase: str | None = None,
    is_testnet: bool = True,
    principal_id: str | None = None,
    marketplace_registration=None,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> ExchangeCredential:
    """Store an exchange credential encrypted. Raises CredentialError on bad input (nothing is stored).

    A marketplace principal's key is stored for the principal's user with `principal_id` and the
    `marketplace_registration` (partners.BotMarketplaceRegistration) that stored it; `actor` (default `user`) is who
    the audit row names, e.g. the partner account acting for the principal.
    """
    api_key, api_secret, passphrase = (api_key or "").strip(), (api_secret or "").strip(), (passphrase or "").strip()
    if exchange not in Exchange.values:
        raise CredentialError(f"Unknown exchange {exchange!r}.")
    if not api_key or not api_secret:
        raise CredentialError("Both the API key and the API secret are required.")
    if len(api_key) < 8 or len(api_secret) < 8:
        raise CredentialError("That does not look like an exchange API key: it is too short.")
    if exchange in PASSPHRASE_EXCHANGES and not passphrase:
        raise CredentialError(f"{Exchange(exchange).label} keys need their passphrase too.")
    network_refused = network_problem(exchange, testnet=is_testnet)
    if network_refused:
        raise CredentialError(network_refused)
    # A principal has one key per exchange and network whichever partner stored it (the unique constraint), so its
    # duplicate is looked for across partners, not only among the keys this partner may use.
    holders = (
        ExchangeCredential.objects.filter(principal_id=principal_id)
        if principal_id
        else ExchangeCredential.objects.owned_by(user)
    )
    if holders.filter(exchange=exchange, is_testnet=is_testnet).exists():
        network = "testnet" if is_testnet else "mainnet"
        raise CredentialError(f"You already have a {Exchange(exchange).label} {network} key; delete it first.")
    credential = ExchangeCredential.objects.create(
        user=user,
        principal_id=principal_id,
        marketplace_registration=marketplace_registration,
        exchange=exchange,
        api_key_encrypted=crypto.encrypt(api_key),
        api_secret_encrypted=crypto.encrypt(api_secret),
        api_passphrase_encrypted=crypto.encrypt(passphrase) if passphrase else None,
        api_key_hint=api_key[-4:],
        is_testnet=is_testnet,
    )
    new_values = {"exchange": exchange, "is_testnet": is_testnet, "key": credential.masked_key}
    if principal_id:
        new_values["principal_id"] = principal_id
    if marketplace_registration is not None:
        new_values["marketplace_registration"] = marketplace_registration.pk
    audit_log_record(
        actor=actor or user, action="credential.create", instance=credential, new_values=new_values, request=request
    )
    return credential


@transaction.atomic
def credential_delete(*, credential: ExchangeCredential, actor: User, request: HttpRequest | None = None) -> None:
    audit_log_record(
        actor=actor,
        action="credential.delete",
        instance=credential,
        old_values={"exchange": credential.exchange, "is_testnet": credential.is_testnet, "key": credential.masked_key},
        request=request,
    )
    credential.delete()


def credential_reveal(credential: ExchangeCredential) -> ClearCredentials:
    """Decrypt for the exchange adapter only. Raises CredentialDecryptionError when no configured key fits."""
    return ClearCredentials(
        api_key=crypto.decrypt(credential.api_key_encrypted),
        secret=crypto.decrypt(credential.api_secret_encrypted),
        passphrase=crypto.decrypt(credential.api_passphrase_encrypted) if credential.api_passphrase_encrypted else None,
    )


def credentials_rotate() -> int:
    """Re-encrypt every credential under the newest Fernet key; returns how many rows were rewritten.

    Rows are locked one at a time (select_for_update) so a concurrent edit is never overwritten with stale tokens.
    """
    rotated = 0
    for pk in list(ExchangeCredential.objects.values_list("pk", flat=True)):
        with transaction.atomic():
            row = ExchangeCredential.objects.select_for_update().get(pk=pk)
            row.api_key_encrypted = crypto.rotate(row.api_key_encrypted)
            row.api_secret_encrypted = crypto.rotate(row.api_secret_encrypted)
            if row.api_passphrase_encrypted:
                row.api_passphrase_encrypted = crypto.rotate(row.api_passphrase_encrypted)
            row.save(update_fields=["api_key_encrypted", "api_secret_encrypted", "api_passphrase_encrypted"])
            rotated += 1
    if rotated:
        audit_log_record(actor=None, action="credential.rotate_keys", new_values={"rows": rotated})
    return rotated


@transaction.atomic
def user_profile_update(*, user: User, request: HttpRequest | None = None, **fields) -> User:
    """Change the public developer fields (developer_name, developer_bio, developer_website) of `user`.

    Other fields are refused with a ValueError: the role, the email and the API key change through their own paths.
    """
    allowed = {"developer_name", "developer_bio", "developer_website"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"user_profile_update cannot change {', '.join(sorted(unknown))}")
    old_values = {name: getattr(user, name) for name in fields}
    for name, value in fields.items():
        setattr(user, name, value or None)
    user.save(update_fields=[*fields, "updated_at"])
    changed = {name: getattr(user, name) for name in fields if getattr(user, name) != old_values[name]}
    if changed:
        audit_log_record(
            actor=user,
            action="user.profile_update",
            instance=user,
            old_values={name: old_values[name] for name in changed},
            new_values=changed,
            request=request,
        )
    return user


# --- Logins, passwords and lockouts: audited, never with a password or a hash -------------------------------------


def user_login_failure_record(*, username: str | None, request: HttpRequest | None) -> AuditLog | None:
    """Audit one failed login (accounts.receivers calls this for Django's `user_login_failed`, from any login form).

    The row names the account when the email is one; an unknown name is not stored (people type their password into
    the email field). Failures while a lockout was already in force are left to axes' AccessAttempt counter, so
    hammering a locked form cannot flood the audit log; the failure that starts a lockout says so. Returns the row,
    or None when nothing was written.
    """
    failures = getattr(request, "axes_failures_since_start", None)
    limit = settings.AXES_FAILURE_LIMIT
    if failures is not None and failures > limit:
        return None
    user = User.objects.filter(email__iexact=username).first() if username else None
    new_values = {
        "account_exists": user is not None,
        "path": request.path[:200] if request is not None else None,
        "locked_out": failures is not None and failures >= limit,
    }
    return audit_log_record(
        actor=None, action="user.login_failed", instance=user, new_values=new_values, request=request
    )


def user_password_change_record(*, user: User, actor: User | None, how: str, request: HttpRequest | None) -> AuditLog:
    """Audit that `user`'s password changed (`how`: "change" by its owner, "reset" through the emailed link,
    "admin_set" by staff). Called by the views after Django's password forms saved; only the fact is stored."""
    return audit_log_record(
        actor=actor, action=f"user.password_{how}", instance=user, new_values={"by": how}, request=request
    )


@transaction.atomic
def login_lockout_lift(*, attempts, actor: User, request: HttpRequest | None = None) -> int:
    """Lift lockouts: delete the given axes AccessAttempt rows (their failure counts) and audit each one.

    Returns how many attempt rows were deleted. The account or address can log in again at once unless other
    attempts still lock it (a client's count spans every account it tried).
    """
    lifted = 0
    for attempt in list(attempts):
        audit_log_record(
            actor=actor,
            action="login.lockout_lift",
            instance=attempt,
            old_values={
                "username": attempt.username,
                "ip_address": attempt.ip_address,
                "failures": attempt.failures_since_start,
            },
            request=request,
        )
        attempt.delete()
        lifted += 1
    return lifted
