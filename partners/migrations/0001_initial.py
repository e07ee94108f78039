"""Take over BotMarketplaceRegistration from bots in Django's state only: the table, its indexes and its foreign
keys (made by bots.0001 and bots.0003) stay as they are, rows included."""

from decimal import Decimal

import django.db.models.deletion
import django.db.models.functions.datetime
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("bots", "0005_version_code_sha256"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="BotMarketplaceRegistration",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"),
                        ),
                        ("user_principal_id", models.CharField(max_length=255)),
                        ("api_key", models.CharField(editable=False, max_length=255, unique=True)),
                        ("status", models.CharField(db_default="approved", default="approved", max_length=50)),
                        ("marketplace_name", models.CharField(blank=True, max_length=255, null=True)),
                        ("marketplace_description", models.TextField(blank=True, null=True)),
                        (
                            "price_on_marketplace",
                            models.DecimalField(blank=True, decimal_places=2, max_digits=10, null=True),
                        ),
                        (
                            "commission_rate",
                            models.DecimalField(
                                db_default=Decimal("0.1000"), decimal_places=4, default=Decimal("0.1000"), max_digits=5
                            ),
                        ),
                        ("is_featured", models.BooleanField(db_default=False, default=False)),
                        ("is_active", models.BooleanField(db_default=True, default=True)),
                        (
                            "registered_at",
                            models.DateTimeField(
                                db_default=django.db.models.functions.datetime.Now(),
                                default=django.utils.timezone.now,
                                editable=False,
                            ),
                        ),
                        (
                            "bot",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="marketplace_registrations",
                                to="bots.bot",
                            ),
                        ),
                        (
                            "partner",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="marketplace_registrations",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "bot_marketplace_registrations",
                        "indexes": [
                            models.Index(fields=["user_principal_id"], name="idx_bmr_user_principal_id"),
                            models.Index(fields=["status"], name="idx_bmr_status"),
                            models.Index(fields=["is_active"], name="idx_bmr_is_active"),
                        ],
                    },
                ),
            ],
        ),
    ]
