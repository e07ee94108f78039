"""Bots in the API: the fields every representation shares, and the developer's own bots and versions. Amounts are
strings (COERCE_DECIMAL_TO_STRING). The catalog's and the reviews' serializers are catalog.serializers.

Input serializers only check types; bots.services validates the rest (uploads, config schemas).
"""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from bots.models import Bot, BotCategory, BotVersion
from common.api.schema import NamedChoiceField
from common.json_text import json_object_parse

# One name for a version's validation status wherever it appears (see common.api.schema.NamedChoiceField).
VALIDATION_STATUS_ENUM = "VersionValidationStatusEnum"


class CategoryRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = BotCategory
        fields = ["slug", "name"]


class BotSerializer(serializers.ModelSerializer):
    """The fields every bot representation shares; the statistics are the denormalised columns, except where a
    subclass counts `active_subscribers` live (one name, one meaning: the bot's ACTIVE subscriptions)."""

    category = CategoryRefSerializer(read_only=True, allow_null=True)
    developer_name = serializers.CharField(source="developer.developer_name", read_only=True, allow_null=True)
    active_subscribers = serializers.IntegerField(
        source="total_subscribers",
        read_only=True,
        help_text="Its ACTIVE subscriptions, as of the nightly refresh of the bot's statistics.",
    )

    class Meta:
        model = Bot
        fields = [
            "slug",
            "name",
            "description",
            "version",
            "category",
            "bot_type",
            "developer_name",
            "price_per_month",
            "is_free",
            "trial_days",
            "status",
            "approved_at",
            "active_subscribers",
            "average_rating",
            "total_reviews",
        ]
        read_only_fields = fields


class BotRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Bot
        fields = ["slug", "name"]
        read_only_fields = fields


# --- The developer's own bots ------------------------------------------------------------------------------------


@extend_schema_field({"type": "string", "description": 'A JSON object as text, like {"fast": 10}.'})
class JSONObjectTextField(serializers.Field):
    """A JSON object sent as text (a multipart form field), or as an object. Empty text is {}."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            return data
        if not isinstance(data, str):
            raise serializers.ValidationError("Give a JSON object as text: {...}.")
        try:
            return json_object_parse(data)
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from None

    def to_representation(self, value):
        return value


@extend_schema_field({"type": "string", "format": "binary"})
class UploadField(serializers.FileField):
    """An uploaded file. Declared as binary: drf-spectacular shows a FileField as a URL unless request and response
    components are split (COMPONENT_SPLIT_REQUEST), and these serializers are only ever requests."""


class VersionUploadSerializer(serializers.Serializer):
    """The arguments of bots.services.bot_version_upload (multipart)."""

    version = serializers.CharField(max_length=50, help_text="Like 1.2.0; unique per bot.")
    changelog = serializers.CharField(required=False, allow_blank=True, default="")
    code_file = UploadField(help_text="A .py file, or a .zip package with bot.py at its root; 1 MB at most.")
    model_file = UploadField(required=False, allow_null=True, help_text="Optional; 50 MB at most.")
    config_schema = JSONObjectTextField(help_text="The bot class's config_schema; every setting needs a default.")
    default_config = JSONObjectTextField(required=False, default=dict, help_text="Settings left out take defaults.")


class BotCreateSerializer(VersionUploadSerializer):
    """The arguments of bots.services.bot_create (multipart): a bot with its first version."""

    changelog = None
    version = serializers.CharField(max_length=50, default="1.0.0", help_text="Like 1.0.0.")
    name = serializers.CharField(max_length=255)
    description = serializers.CharField()
    category = serializers.SlugRelatedField(
        slug_field="slug", queryset=BotCategory.objects.all(), required=False, allow_null=True, default=None
    )
    bot_type = serializers.ChoiceField(choices=Bot.Type.choices, default=Bot.Type.TECHNICAL)
    price_per_month = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=Decimal("0"), default=Decimal("0"), help_text="0 for a free bot."
    )
    trial_days = serializers.IntegerField(min_value=0, max_value=90, default=0, help_text="Paid bots only.")


class DeveloperVersionSerializer(serializers.ModelSerializer):
    """A version as its developer sees it: validation and approval, config schema and defaults."""

    validation_status = NamedChoiceField(
        enum_name=VALIDATION_STATUS_ENUM, choices=BotVersion.ValidationStatus.choices, read_only=True
    )
    approved = serializers.SerializerMethodField(help_text="Staff approved it: subscribers may run it.")

    class Meta:
        model = BotVersion
        fields = [
            "id",
            "version",
            "changelog",
            "validation_status",
            "approved",
            "approved_at",
            "created_at",
            "config_schema",
            "default_config",
        ]
        read_only_fields = fields

    def get_approved(self, version: BotVersion) -> bool:
        return version.approved_at is not None


class DeveloperVersionDetailSerializer(DeveloperVersionSerializer):
    validation_report = serializers.JSONField(
        read_only=True, help_text="What validation found (checks, backtest figures); null until it ran."
    )

    class Meta(DeveloperVersionSerializer.Meta):
        fields = [*DeveloperVersionSerializer.Meta.fields, "validation_report"]
        read_only_fields = fields


class DeveloperBotSerializer(BotSerializer):
    """One of the developer's bots with the figures of the developer portal (catalog.selectors.developer_bots) and
    `total_subscriptions` (set by the API)."""

    newest_version = serializers.CharField(read_only=True, allow_null=True)
    newest_validation_status = NamedChoiceField(
        enum_name=VALIDATION_STATUS_ENUM, choices=BotVersion.ValidationStatus.choices, read_only=True, allow_null=True
    )
    active_subscribers = serializers.IntegerField(read_only=True, help_text="Its ACTIVE subscriptions now.")
    paid_subscribers = serializers.IntegerField(read_only=True, help_text="Active and not in a trial.")
    total_subscriptions = serializers.IntegerField(
        read_only=True, help_text="Every subscription it ever had, any status (not a count of subscribers)."
    )
    monthly_revenue = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        read_only=True,
        help_text="paid_subscribers × price_per_month × (1 − the platform's commission).",
    )

    class Meta(BotSerializer.Meta):
        fields = [
            *BotSerializer.Meta.fields,
            "rejection_reason",
            "created_at",
            "updated_at",
            "newest_version",
            "newest_validation_status",
            "paid_subscribers",
            "total_subscriptions",
            "monthly_revenue",
        ]
        read_only_fields = fields


class DeveloperBotDetailSerializer(DeveloperBotSerializer):
    class Meta(DeveloperBotSerializer.Meta):
        fields = [*DeveloperBotSerializer.Meta.fields, "config_schema", "default_config"]
        read_only_fields = fields
