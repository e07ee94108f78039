"""The catalog, reviews and the developer's own bots in the API. Amounts are strings (COERCE_DECIMAL_TO_STRING).

Input serializers only check types; bots.services validates the rest (uploads, config schemas, review rules).
"""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from bots.models import Bot, BotCategory, BotPerformance, BotReview, BotVersion
from bots.services import REVIEW_TEXT_MAX
from common.api.schema import NamedChoiceField
from common.json_text import json_object_parse

# One name for a version's validation status wherever it appears (see common.api.schema.NamedChoiceField).
VALIDATION_STATUS_ENUM = "VersionValidationStatusEnum"


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = BotCategory
        fields = ["slug", "name", "description"]


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


class BotListSerializer(BotSerializer):
    """A catalog row, with the catalog selector's annotations (bots.selectors.bot_catalog_queryset)."""

    active_subscribers = serializers.IntegerField(read_only=True, help_text="Its ACTIVE subscriptions now.")
    pnl_30d = serializers.DecimalField(max_digits=30, decimal_places=8, read_only=True, allow_null=True)
    return_30d = serializers.FloatField(
        read_only=True,
        allow_null=True,
        help_text="30-day net P&L / cost as a fraction (0.05 = 5 %); null without closed trades.",
    )

    class Meta(BotSerializer.Meta):
        fields = [*BotSerializer.Meta.fields, "pnl_30d", "return_30d"]
        read_only_fields = fields


class BotVersionSerializer(serializers.ModelSerializer):
    validation_status = NamedChoiceField(
        enum_name=VALIDATION_STATUS_ENUM, choices=BotVersion.ValidationStatus.choices, read_only=True
    )

    # Storage paths and validation reports stay private: they are the developer's.
    class Meta:
        model = BotVersion
        fields = ["version", "changelog", "validation_status", "created_at"]
        read_only_fields = fields


class BotBacktestSerializer(serializers.Serializer):
    """The backtest on the bot's page (bots.backtest_summary.bot_backtest): the platform's own run of the version
    subscribers get, on shipped candles, with its default config. `stats` as `manage.py backtest` prints them."""

    market = serializers.CharField(read_only=True)
    config = serializers.DictField(read_only=True, allow_null=True)
    stats = serializers.SerializerMethodField()
    unavailable = serializers.CharField(read_only=True, help_text="Why there is no result; empty when there is.")

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_stats(self, summary) -> dict | None:
        return summary.result["stats"] if summary.result else None


class BotDailyPerformanceSerializer(serializers.ModelSerializer):
    class Meta:
        model = BotPerformance
        fields = ["date", "total_trades", "winning_trades", "total_pnl", "win_rate", "max_drawdown"]
        read_only_fields = fields
        extra_kwargs = {
            "win_rate": {"help_text": "A fraction (0.55 = 55 %)."},
            "max_drawdown": {"help_text": "A fraction of the peak equity that day (docs/statistics.md)."},
        }


class BotDetailSerializer(BotSerializer):
    """A bot's page: the shared fields, its config schema and defaults, `versions`, its backtest and the last 30
    daily snapshots of its subscribers' results (all three set by the API view)."""

    versions = BotVersionSerializer(many=True, read_only=True, source="version_history")
    backtest = BotBacktestSerializer(read_only=True)
    daily_performance = BotDailyPerformanceSerializer(many=True, read_only=True, source="recent_performance")

    class Meta(BotSerializer.Meta):
        fields = [
            *BotSerializer.Meta.fields,
            "config_schema",
            "default_config",
            "versions",
            "backtest",
            "daily_performance",
        ]
        read_only_fields = fields


class BotReviewSerializer(serializers.ModelSerializer):
    # The author is not shown, as on the bot's page ("a subscriber").
    class Meta:
        model = BotReview
        fields = ["rating", "text", "created_at", "updated_at"]
        read_only_fields = fields


class BotRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Bot
        fields = ["slug", "name"]
        read_only_fields = fields


class OwnReviewSerializer(serializers.ModelSerializer):
    """A review as its author sees it: with the bot it is about."""

    bot = BotRefSerializer(read_only=True)

    class Meta:
        model = BotReview
        fields = ["bot", "rating", "text", "created_at", "updated_at"]
        read_only_fields = fields


class ReviewWriteSerializer(serializers.Serializer):
    """The arguments of bots.services.review_create_or_update."""

    rating = serializers.IntegerField(min_value=1, max_value=5, help_text="Stars, 1 to 5.")
    text = serializers.CharField(required=False, allow_blank=True, default="", max_length=REVIEW_TEXT_MAX)


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
    """One of the developer's bots with the figures of the developer portal (bots.selectors.developer_bots) and
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
