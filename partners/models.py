"""Partner marketplaces' registrations of approved bots: the one table the partner API owns.

Table `bot_marketplace_registrations` follows the seed exactly. bots' migrations created it (the model lived there
first); partners.migrations.0001 took it over in Django's state only, so the table and its rows stayed.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone

from bots.models import Bot


class BotMarketplaceRegistration(models.Model):
    """A partner marketplace's listing of an approved bot, with its own API key (stored as a SHA-256 hash)."""

    user_principal_id = models.CharField(max_length=255)
    # The partner account (a user holding a marketplace key) that made the registration; null only for rows
    # imported from the original system, which kept no owner.
    partner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="marketplace_registrations",
    )
    bot = models.ForeignKey(Bot, on_delete=models.PROTECT, related_name="marketplace_registrations")
    api_key = models.CharField(max_length=255, unique=True, editable=False)
    status = models.CharField(max_length=50, default="approved", db_default="approved")
    marketplace_name = models.CharField(max_length=255, null=True, blank=True)
    marketplace_description = models.TextField(null=True, blank=True)
    price_on_marketplace = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    commission_rate = models.DecimalField(
        max_digits=5, decimal_places=4, default=Decimal("0.1000"), db_default=Decimal("0.1000")
    )
    is_featured = models.BooleanField(default=False, db_default=False)
    is_active = models.BooleanField(default=True, db_default=True)
    registered_at = models.DateTimeField(default=timezone.now, db_default=Now(), editable=False)

    class Meta:
        db_table = "bot_marketplace_registrations"
        indexes = [
            models.Index(fields=["user_principal_id"], name="idx_bmr_user_principal_id"),
            models.Index(fields=["status"], name="idx_bmr_status"),
            models.Index(fields=["is_active"], name="idx_bmr_is_active"),
        ]

    def __str__(self) -> str:
        return f"{self.marketplace_name or 'marketplace'}: {self.bot}"
