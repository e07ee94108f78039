"""partners.0002 moves the registration's content type from the bots label, and whoever held its permissions
(partner accounts, groups) still holds them after the move."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from accounts.models import User

migration = importlib.import_module("partners.migrations.0002_content_type_from_bots")
pytestmark = pytest.mark.django_db
ADD = "add_botmarketplaceregistration"


def relabel_to_partners() -> None:
    migration.to_partners(apps, SimpleNamespace(connection=connection))
    ContentType.objects.clear_cache()


def test_it_keeps_the_content_type_row_and_its_permissions_under_the_new_label(alice):
    # A database from before the move: the content type still carries the bots label.
    ContentType.objects.filter(app_label="partners", model=migration.MODEL).update(app_label="bots")
    permission = Permission.objects.get(codename=ADD)
    alice.user_permissions.add(permission)
    relabel_to_partners()
    assert Permission.objects.get(codename=ADD).pk == permission.pk
    assert permission.content_type.pk == ContentType.objects.get_by_natural_key("partners", migration.MODEL).pk
    assert not ContentType.objects.filter(app_label="bots", model=migration.MODEL).exists()
    assert User.objects.get(pk=alice.pk).has_perm(f"partners.{ADD}")


def test_it_moves_the_grants_when_the_new_content_type_exists_already(alice, bob):
    # A migrate run stopped between partners.0001 and 0002, and post_migrate made the partners content type then.
    stale = ContentType.objects.create(app_label="bots", model=migration.MODEL)
    alice.user_permissions.add(Permission.objects.create(content_type=stale, codename=ADD, name="Can add"))
    partners_group = Group.objects.create(name="partners")
    partners_group.permissions.add(Permission.objects.get(content_type=stale, codename=ADD))
    partners_group.user_set.add(bob)
    relabel_to_partners()
    assert not ContentType.objects.filter(app_label="bots", model=migration.MODEL).exists()
    assert Permission.objects.filter(codename=ADD).count() == 1
    assert User.objects.get(pk=alice.pk).has_perm(f"partners.{ADD}")
    assert User.objects.get(pk=bob.pk).has_perm(f"partners.{ADD}")
