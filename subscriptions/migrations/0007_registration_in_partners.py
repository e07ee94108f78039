"""Subscription.marketplace_registration now names partners.BotMarketplaceRegistration: the same table, so the
change is Django's state only and the foreign key in the database stays."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0001_initial"),
        ("subscriptions", "0006_records"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="subscription",
                    name="marketplace_registration",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="subscriptions",
                        to="partners.botmarketplaceregistration",
                    ),
                ),
            ],
        ),
    ]
