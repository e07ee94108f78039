"""Users, exchange credentials and the audit log, on the seed's tables `users`, `exchange_credentials`, `audit_logs`.

Column names, types, defaults (`db_default`) and indexes follow `../shared/seed/database-schema.md`; the seed's
ENUMs are varchar columns with a CHECK constraint listing the values.
"""

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone


class Exchange(models.TextChoices):
    BINANCE = "BINANCE", "Binance"
    COINBASE = "COINBASE", "Coinbase"
    KRAKEN = "KRAKEN", "Kraken"
    BYBIT = "BYBIT", "Bybit"
    HUOBI = "HUOBI", "HTX (Huobi)"


def choices_check(field_name: str, choices: type[models.TextChoices], table: str) -> models.CheckConstraint:
    """The CHECK constraint that stands in for the seed's ENUM column `field_name`."""
    return models.CheckConstraint(
        condition=models.Q(**{f"{field_name}__in": choices.values}), name=f"{table}_{field_name}_valid"
    )


class Timestamped(models.Model):
    """`created_at` / `updated_at` with the seed's database defaults (CURRENT_TIMESTAMP)."""

    created_at = models.DateTimeField(default=timezone.now, db_default=Now(), editable=False)
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        abstract = True


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        if not email:
            raise ValueError("Users must have an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.update(role=User.Role.ADMIN, is_superuser=True)
        return self.create_user(email, password, **fields)

    def get_by_natural_key(self, email: str) -> "User":
        return self.get(email__iexact=email)


class Role(models.TextChoices):
    USER = "USER", "Trader"
    DEVELOPER = "DEVELOPER", "Developer"
    ADMIN = "ADMIN", "Admin"


class User(AbstractBaseUser, PermissionsMixin, Timestamped):
    """A person: trader (USER), bot developer (DEVELOPER) or staff (ADMIN). Email is the login."""

    Role = Role

    email = models.EmailField(max_length=255, unique=True)
    # The seed's column name; Django's hasher string (bcrypt_sha256$...) is stored, never the password.
    password = models.CharField("password", max_length=255, db_column="hashed_password")
    role = models.CharField(max_length=9, choices=Role.choices, default=Role.USER, db_default=Role.USER)
    is_active = models.BooleanField(default=True, db_default=True)

    developer_name = models.CharField(max_length=255, null=True, blank=True)
    developer_bio = models.TextField(null=True, blank=True)
    developer_website = models.URLField(max_length=255, null=True, blank=True)

    # SHA-256 of the user's API key (see accounts.api_keys); the clear key is shown once, when it is made.
    api_key = models.CharField(max_length=255, unique=True, null=True, blank=True, editable=False)
    # Internet Computer principal of a marketplace end user (read by the seed's user_performance_summary view).
    user_principal_id = models.CharField(max_length=255, unique=True, null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        db_table = "users"
        indexes = [
            models.Index(fields=["role"], name="idx_role"),
            models.Index(fields=["is_active"], name="idx_active"),
        ]
        constraints = [choices_check("role", Role, "users")]

    def __str__(self) -> str:
        return self.email

    @property
    def is_staff(self) -> bool:
        """ADMIN users are staff: they may use the Django admin."""
        return self.is_active and self.role == self.Role.ADMIN

    @property
    def is_developer(self) -> bool:
        return self.role in (self.Role.DEVELOPER, self.Role.ADMIN)

    def has_perm(self, perm, obj=None) -> bool:
        # ADMIN is the platform's staff role and may do everything in the admin; others go through Django's
        # permission backends (superusers included).
        if self.is_active and self.role == self.Role.ADMIN:
            return True
        return super().has_perm(perm, obj)

    def has_module_perms(self, app_label) -> bool:
        if self.is_active and self.role == self.Role.ADMIN:
            return True
        return super().has_module_perms(app_label)


class ExchangeCredentialQuerySet(models.QuerySet):
    def owned_by(self, user: User | None = None, *, registration=None, principal_id: str | None = None):
        """The keys a caller may use: `user`'s own (never a marketplace principal's, even one in `user`'s name), or,
        given `registration` (a partner's BotMarketplaceRegistration), the keys of principal `principal_id` that
        registration's partner stored through any of its registrations (another partner's are never found)."""
        if registration is None:
            return self.filter(user=user, principal_id__isnull=True)
        if isinstance(registration, int):  # a registration's id: its partner through a join, not a query first
            return self.filter(
                principal_id=principal_id, marketplace_registration__partner__marketplace_registrations=registration
            )
        return self.filter(principal_id=principal_id, marketplace_registration__partner_id=registration.partner_id)


class ExchangeCredential(Timestamped):
    """A user's (or a marketplace principal's) API key on one exchange, encrypted at rest with Fernet.

    The encrypted columns hold Fernet tokens only; `accounts.crypto` encrypts and decrypts them. `api_key_hint`
    keeps the last four characters of the API key, the only part ever shown again.
    """

    class ValidationStatus(models.TextChoices):
        PENDING = "pending", "Pending"
        VALID = "valid", "Valid"
        INVALID = "invalid", "Invalid"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="exchange_credentials")
    principal_id = models.CharField(max_length=255, null=True, blank=True)
    # For a principal's key: the partner marketplace registration that stored it. The registrations of the same
    # partner share the principal's keys; another partner's never see them (docs/partner-api.md).
    marketplace_registration = models.ForeignKey(
        "partners.BotMarketplaceRegistration",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="exchange_credentials",
    )
    exchange = models.CharField(max_length=8, choices=Exchange.choices)

    api_key_encrypted = models.TextField()
    api_secret_encrypted = models.TextField()
    api_passphrase_encrypted = models.TextField(null=True, blank=True)
    api_key_hint = models.CharField(max_length=4, default="", db_default="", blank=True, editable=False)

    is_testnet = models.BooleanField(default=True, db_default=True)
    is_active = models.BooleanField(default=True, db_default=True)

    validation_status = models.CharField(
        max_length=50, choices=ValidationStatus.choices, default=ValidationStatus.PENDING, db_default="pending"
    )
    # Why the last validation failed, in words safe to show the owner (never a secret).
    validation_error = models.TextField(default="", db_default="", blank=True)
    last_validated = models.DateTimeField(null=True, blank=True)

    objects = ExchangeCredentialQuerySet.as_manager()

    class Meta:
        db_table = "exchange_credentials"
        constraints = [
            models.UniqueConstraint(fields=["user", "exchange", "is_testnet"], name="unique_user_exchange_testnet"),
            models.UniqueConstraint(
                fields=["principal_id", "exchange", "is_testnet"], name="unique_principal_exchange_testnet"
            ),
            choices_check("exchange", Exchange, "exchange_credentials"),
        ]
        indexes = [
            models.Index(fields=["principal_id"], name="idx_principal_id"),
            models.Index(fields=["exchange"], name="idx_exchange"),
            models.Index(fields=["validation_status"], name="idx_validation_status"),
        ]

    def __str__(self) -> str:
        network = "testnet" if self.is_testnet else "mainnet"
        return f"{self.get_exchange_display()} {network} key …{self.api_key_hint}"

    @property
    def masked_key(self) -> str:
        return f"••••{self.api_key_hint}" if self.api_key_hint else "••••"


class AuditLog(models.Model):
    """One sensitive operation: moderation, money, keys. Written by services, read-only everywhere."""

    # No database foreign key, as in the seed: an audit row outlives the user it names.
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    action = models.CharField(max_length=100)
    table_name = models.CharField(max_length=50, null=True, blank=True)
    record_id = models.IntegerField(null=True, blank=True)
    old_values = models.JSONField(null=True, blank=True)
    new_values = models.JSONField(null=True, blank=True)
    ip_address = models.CharField(max_length=45, null=True, blank=True)
    user_agent = models.TextField(null=True, blank=True)
    timestamp = models.DateTimeField(default=timezone.now, db_default=Now())

    class Meta:
        db_table = "audit_logs"
        indexes = [
            models.Index(fields=["action"], name="idx_audit_action"),
            models.Index(fields=["timestamp"], name="idx_audit_timestamp"),
        ]
        ordering = ["-timestamp", "-id"]

    def __str__(self) -> str:
        return f"{self.action} {self.table_name}#{self.record_id}"
