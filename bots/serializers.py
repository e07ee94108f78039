"""Read-only representations of the catalog for the API. Amounts are strings (COERCE_DECIMAL_TO_STRING)."""

from rest_framework import serializers

from bots.models import Bot, BotCategory, BotReview, BotVersion


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = BotCategory
        fields = ["slug", "name", "description"]


class CategoryRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = BotCategory
        fields = ["slug", "name"]


class BotSerializer(serializers.ModelSerializer):
    """The fields every bot representation shares; the statistics are the denormalised columns."""

    category = CategoryRefSerializer(read_only=True, allow_null=True)
    developer_name = serializers.CharField(source="developer.developer_name", read_only=True, allow_null=True)

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
            "total_subscribers",
            "average_rating",
            "total_reviews",
        ]
        read_only_fields = fields


class BotListSerializer(BotSerializer):
    """A catalog row, with the catalog selector's annotations (bots.selectors.bot_catalog_queryset)."""

    active_subscribers = serializers.IntegerField(read_only=True)
    pnl_30d = serializers.DecimalField(max_digits=30, decimal_places=8, read_only=True, allow_null=True)
    return_30d = serializers.FloatField(
        read_only=True,
        allow_null=True,
        help_text="30-day net P&L / cost as a fraction (0.05 = 5 %); null without closed trades.",
    )

    class Meta(BotSerializer.Meta):
        fields = [*BotSerializer.Meta.fields, "active_subscribers", "pnl_30d", "return_30d"]
        read_only_fields = fields


class BotVersionSerializer(serializers.ModelSerializer):
    # Storage paths and validation reports stay private: they are the developer's.
    class Meta:
        model = BotVersion
        fields = ["version", "changelog", "validation_status", "created_at"]
        read_only_fields = fields


class BotDetailSerializer(BotSerializer):
    """A bot's page: the shared fields, its config schema and defaults, and `versions` (set by the API view)."""

    versions = BotVersionSerializer(many=True, read_only=True, source="version_history")

    class Meta(BotSerializer.Meta):
        fields = [*BotSerializer.Meta.fields, "config_schema", "default_config", "versions"]
        read_only_fields = fields


class BotReviewSerializer(serializers.ModelSerializer):
    # The author is not shown, as on the bot's page ("a subscriber").
    class Meta:
        model = BotReview
        fields = ["rating", "text", "created_at", "updated_at"]
        read_only_fields = fields
