"""The registration's content type moves from the `bots` label to `partners`, keeping its row: its permissions (and
the partner accounts and groups holding add_botmarketplaceregistration) keep theirs too.

A fresh database has no content type yet at this point (post_migrate creates it under `partners` after the run).
A `migrate` that stopped between partners.0001 and here may have let post_migrate create the `partners` one already:
then the grants of the old permissions and the admin's history move to the new content type and the old one goes.
"""

from django.db import migrations

MODEL = "botmarketplaceregistration"


def _relabel(apps, schema_editor, *, source: str, target: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    LogEntry = apps.get_model("admin", "LogEntry")
    db = schema_editor.connection.alias
    old = ContentType.objects.using(db).filter(app_label=source, model=MODEL).first()
    if old is None:
        return
    new = ContentType.objects.using(db).filter(app_label=target, model=MODEL).first()
    if new is None:
        old.app_label = target
        old.save(update_fields=["app_label"])
        return
    for permission in Permission.objects.using(db).filter(content_type=old):
        twin, _ = Permission.objects.using(db).get_or_create(
            content_type=new, codename=permission.codename, defaults={"name": permission.name}
        )
        twin.user_set.add(*permission.user_set.all())
        twin.group_set.add(*permission.group_set.all())
    LogEntry.objects.using(db).filter(content_type=old).update(content_type=new)
    old.delete()


def to_partners(apps, schema_editor):
    _relabel(apps, schema_editor, source="bots", target="partners")


def to_bots(apps, schema_editor):
    _relabel(apps, schema_editor, source="partners", target="bots")


class Migration(migrations.Migration):
    dependencies = [
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("partners", "0001_initial"),
    ]

    operations = [migrations.RunPython(to_partners, to_bots)]
