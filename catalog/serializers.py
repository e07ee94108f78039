"""The catalog and reviews in the API. Amounts are strings (COERCE_DECIMAL_TO_STRING).

Input serializers only check types; catalog.services validates the review rules.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from bots.models import BotCategory, BotPerformance, BotReview, BotVersion
from bots.serializers import VALIDATION_STATUS_ENUM, BotRefSerializer, BotSerializer
from catalog.services import REVIEW_TEXT_MAX
from common.api.schema import NamedChoiceField


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = BotCategory
        fields = ["slug", "name", "description"]


class BotListSerializer(BotSerializer):
    """A catalog row, with the catalog selector's annotations (catalog.selectors.bot_catalog_queryset)."""

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
    """The backtest on the bot's page (catalog.backtest_summary.bot_backtest): the platform's own run of the version
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


class OwnReviewSerializer(serializers.ModelSerializer):
    """A review as its author sees it: with the bot it is about."""

    bot = BotRefSerializer(read_only=True)

    class Meta:
        model = BotReview
        fields = ["bot", "rating", "text", "created_at", "updated_at"]
        read_only_fields = fields


class ReviewWriteSerializer(serializers.Serializer):
    """The arguments of catalog.services.review_create_or_update."""

    rating = serializers.IntegerField(min_value=1, max_value=5, help_text="Stars, 1 to 5.")
    text = serializers.CharField(required=False, allow_blank=True, default="", max_length=REVIEW_TEXT_MAX)
