"""BotMarketplaceRegistration lives in partners now (partners.0001): drop it from bots' state only, once the foreign
keys that pointed to it name the partners model. The table stays."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_registration_in_partners"),
        ("bots", "0005_version_code_sha256"),
        ("partners", "0001_initial"),
        ("subscriptions", "0007_registration_in_partners"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="BotMarketplaceRegistration")],
        ),
    ]
