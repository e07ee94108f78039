"""Trade and PerformanceLog now belong to subscriptions (subscriptions 0006): state only, the tables stay.

Order.trade points at subscriptions.Trade (the same table `trades`, the same foreign key in the database), and the
content types are renamed rather than recreated, so the permissions and admin log entries of the two models keep
pointing at them.
"""

import django.db.models.deletion
from django.db import migrations, models

MOVED_MODELS = ("trade", "performancelog")


def _relabel(apps, old_app: str, new_app: str) -> None:
    """Move the content types of MOVED_MODELS from `old_app` to `new_app`, unless `new_app` already has its own
    (then the old one is left for remove_stale_contenttypes)."""
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in MOVED_MODELS:
        if not content_type.objects.filter(app_label=new_app, model=model).exists():
            content_type.objects.filter(app_label=old_app, model=model).update(app_label=new_app)


def content_types_forward(apps, schema_editor):
    _relabel(apps, "trading", "subscriptions")


def content_types_backward(apps, schema_editor):
    _relabel(apps, "subscriptions", "trading")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("subscriptions", "0006_records"),
        ("trading", "0006_limit_and_protective_orders"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="order",
                    name="trade",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="orders",
                        to="subscriptions.trade",
                    ),
                ),
                migrations.DeleteModel(name="PerformanceLog"),
                migrations.DeleteModel(name="Trade"),
            ]
        ),
        migrations.RunPython(content_types_forward, content_types_backward),
    ]
