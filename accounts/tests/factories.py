import factory
from factory.django import DjangoModelFactory

from accounts import crypto
from accounts.models import AuditLog, Exchange, ExchangeCredential, User

PASSWORD = "correct-horse-battery-staple"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    role = User.Role.USER
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class DeveloperFactory(UserFactory):
    role = User.Role.DEVELOPER
    email = factory.Sequence(lambda n: f"dev{n}@example.com")
    developer_name = factory.Sequence(lambda n: f"Quant Studio {n}")


class StaffFactory(UserFactory):
    role = User.Role.ADMIN
    email = factory.Sequence(lambda n: f"staff{n}@example.com")


class ExchangeCredentialFactory(DjangoModelFactory):
    """Encrypts real-looking test keys with the configured Fernet keys, as the service does."""

    class Meta:
        model = ExchangeCredential

    class Params:
        api_key = factory.Sequence(lambda n: f"test-api-key-{n:06d}-ABCD")
        api_secret = factory.Sequence(lambda n: f"test-api-secret-{n:06d}-WXYZ")

    user = factory.SubFactory(UserFactory)
    exchange = Exchange.BINANCE
    is_testnet = True
    api_key_encrypted = factory.LazyAttribute(lambda o: crypto.encrypt(o.api_key))
    api_secret_encrypted = factory.LazyAttribute(lambda o: crypto.encrypt(o.api_secret))
    api_key_hint = factory.LazyAttribute(lambda o: o.api_key[-4:])


class AuditLogFactory(DjangoModelFactory):
    class Meta:
        model = AuditLog

    user = factory.SubFactory(UserFactory)
    action = "test.action"
