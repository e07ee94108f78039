"""Exchange credentials in the API. Secrets are write-only: a response shows the key's last four characters and
nothing else of the key, the secret or the passphrase."""

from rest_framework import serializers

from accounts.models import Exchange, ExchangeCredential
from common.api.schema import NamedChoiceField


class CredentialSerializer(serializers.ModelSerializer):
    validation_status = NamedChoiceField(
        enum_name="CredentialValidationStatusEnum",
        choices=ExchangeCredential.ValidationStatus.choices,
        read_only=True,
    )
    exchange = NamedChoiceField(enum_name="ExchangeEnum", choices=Exchange.choices, read_only=True)
    masked_key = serializers.CharField(read_only=True, help_text="The key as shown again: ••••ABCD.")

    class Meta:
        model = ExchangeCredential
        fields = [
            "id",
            "exchange",
            "is_testnet",
            "is_active",
            "masked_key",
            "api_key_hint",
            "validation_status",
            "validation_error",
            "last_validated",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CredentialCreateSerializer(serializers.Serializer):
    """The arguments of accounts.services.credential_create; it checks the rest (lengths, passphrase, duplicates)."""

    exchange = NamedChoiceField(enum_name="ExchangeEnum", choices=Exchange.choices)
    # Trimmed by the service; the limits only keep absurd bodies out (no exchange issues keys this long).
    api_key = serializers.CharField(write_only=True, max_length=512, trim_whitespace=False)
    api_secret = serializers.CharField(write_only=True, max_length=512, trim_whitespace=False)
    passphrase = serializers.CharField(
        write_only=True, max_length=512, required=False, allow_blank=True, help_text="Coinbase keys only."
    )
    is_testnet = serializers.BooleanField(default=True)
