"""The trader's subscriptions in the API. Input serializers only check types; subscriptions.services validates the
rest (markets, configs, keys), exactly as for the web form. Amounts are strings (COERCE_DECIMAL_TO_STRING)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Exchange
from bots.serializers import BotRefSerializer
from common.api.schema import NamedChoiceField
from subscriptions import selectors
from subscriptions.models import Subscription
from subscriptions.services import MODES

CONFIG_HELP = "A JSON object; keys left out take their defaults (the stored config has them filled)."


class RunHealthSerializer(serializers.Serializer):
    late = serializers.BooleanField(
        read_only=True, help_text="ACTIVE and its next run should have started more than a few minutes ago."
    )
    last_error = serializers.CharField(read_only=True, help_text="The last run's failure; empty after a good run.")
    consecutive_failures = serializers.IntegerField(read_only=True)


class SubscriptionSerializer(serializers.ModelSerializer):
    """A subscription as its owner sees it. Expects `now` in the context (for `health.late`)."""

    bot = BotRefSerializer(read_only=True)
    mode = serializers.SerializerMethodField()
    status = NamedChoiceField(enum_name="SubscriptionStatusEnum", choices=Subscription.Status.choices, read_only=True)
    exchange_type = NamedChoiceField(enum_name="ExchangeEnum", choices=Exchange.choices, read_only=True)
    health = serializers.SerializerMethodField()
    strategy_config = serializers.DictField(read_only=True)
    execution_config = serializers.DictField(read_only=True)
    risk_config = serializers.DictField(read_only=True)
    win_rate = serializers.DecimalField(
        max_digits=5, decimal_places=4, read_only=True, allow_null=True, help_text="A fraction; null before a trade."
    )

    class Meta:
        model = Subscription
        fields = [
            "id",
            "bot",
            "instance_name",
            "mode",
            "exchange_type",
            "trading_pair",
            "timeframe",
            "strategy_config",
            "execution_config",
            "risk_config",
            "status",
            "status_reason",
            "is_trial",
            "started_at",
            "expires_at",
            "trial_expires_at",
            "last_run_at",
            "next_run_at",
            "health",
            "total_trades",
            "winning_trades",
            "total_pnl",
            "win_rate",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=MODES))
    def get_mode(self, subscription: Subscription) -> str:
        return "paper" if subscription.is_paper else subscription.network_type

    @extend_schema_field(RunHealthSerializer)
    def get_health(self, subscription: Subscription) -> dict:
        return {
            "late": selectors.is_late(subscription, now=self.context.get("now")),
            "last_error": subscription.last_error,
            "consecutive_failures": subscription.consecutive_failures,
        }


class SubscriptionCreateSerializer(serializers.Serializer):
    """The arguments of subscriptions.services.subscription_create."""

    bot = serializers.SlugField(help_text="The bot's slug (GET /api/v1/bots/).")
    mode = serializers.ChoiceField(choices=MODES, help_text="paper: simulated; testnet / mainnet: your exchange key.")
    exchange_type = NamedChoiceField(enum_name="ExchangeEnum", choices=Exchange.choices)
    trading_pair = serializers.CharField(max_length=20, help_text="Like BTC/USDT.")
    timeframe = serializers.CharField(max_length=10, help_text="Like 1h: the bot decides once per closed candle.")
    instance_name = serializers.CharField(
        max_length=255, required=False, allow_blank=True, help_text="Defaults to the bot's name."
    )
    strategy_config = serializers.DictField(required=False, allow_null=True, help_text=CONFIG_HELP)
    execution_config = serializers.DictField(required=False, allow_null=True, help_text=CONFIG_HELP)
    risk_config = serializers.DictField(required=False, allow_null=True, help_text=CONFIG_HELP)
    mainnet_confirmed = serializers.BooleanField(
        default=False, help_text="Required for mainnet: you understand it trades real money."
    )
    trial = serializers.BooleanField(default=False, help_text="Start with the bot's free trial, if it has one.")


class SubscriptionUpdateSerializer(serializers.Serializer):
    """The arguments of subscriptions.services.subscription_update_config; a config left out stays as it is."""

    instance_name = serializers.CharField(max_length=255, required=False, allow_blank=True)
    strategy_config = serializers.DictField(required=False, help_text=CONFIG_HELP)
    execution_config = serializers.DictField(required=False, help_text=CONFIG_HELP)
    risk_config = serializers.DictField(required=False, help_text=CONFIG_HELP)
