import pytest
from django.db import IntegrityError, connection
from django.http import HttpRequest

from accounts import api_keys
from accounts.models import AuditLog, User
from accounts.services import user_api_key_create, user_api_key_revoke, user_create
from accounts.tests.factories import PASSWORD


@pytest.mark.django_db
def test_it_hashes_passwords_with_bcrypt_in_the_seeds_column():
    user = user_create(email="Carol@Example.com", password=PASSWORD)
    with connection.cursor() as cursor:
        cursor.execute("SELECT hashed_password FROM users WHERE id = %s", [user.pk])
        (stored,) = cursor.fetchone()
    assert stored.startswith("bcrypt_sha256$")
    assert PASSWORD not in stored
    assert user.check_password(PASSWORD)
    assert user.email == "carol@example.com"
    assert AuditLog.objects.filter(action="user.create", record_id=user.pk).exists()


@pytest.mark.django_db
def test_it_logs_in_by_email_case_insensitively(client, alice):
    # A request for django-axes, which refuses to judge a login without one.
    assert client.login(request=HttpRequest(), username="ALICE@example.com", password=PASSWORD)


def test_it_makes_only_admins_staff(alice, dev, staff):
    assert staff.is_staff and staff.has_perm("bots.change_bot")
    assert not alice.is_staff and not alice.has_perm("bots.change_bot")
    assert not dev.is_staff and dev.is_developer


@pytest.mark.django_db
def test_it_refuses_an_unknown_role_in_the_database(alice):
    with pytest.raises(IntegrityError):
        User.objects.filter(pk=alice.pk).update(role="SUPERHERO")


@pytest.mark.django_db
def test_it_shows_the_api_key_once_and_stores_only_its_hash(alice):
    clear_key = user_api_key_create(user=alice)
    alice.refresh_from_db()
    assert clear_key.startswith("bmk_") and len(clear_key) > 40
    assert alice.api_key != clear_key and clear_key not in alice.api_key
    assert api_keys.matches(clear_key, alice.api_key)
    assert not api_keys.matches(clear_key + "x", alice.api_key)

    second = user_api_key_create(user=alice)
    alice.refresh_from_db()
    assert not api_keys.matches(clear_key, alice.api_key), "a new key replaces the old one"
    assert api_keys.matches(second, alice.api_key)

    user_api_key_revoke(user=alice)
    alice.refresh_from_db()
    assert alice.api_key is None
    actions = list(AuditLog.objects.filter(record_id=alice.pk, table_name="users").values_list("action", flat=True))
    assert actions.count("user.api_key_create") == 2 and "user.api_key_revoke" in actions
