"""Request and response bodies of the partner API. Secrets are write-only: no response carries a key, a secret,
a passphrase or a key hash; a registration's bot API key appears once, in the answer to its creation."""

from rest_framework import serializers

from accounts.models import Exchange, ExchangeCredential
from common.api.schema import NamedChoiceField
from core import timeframes
from partners.models import BotMarketplaceRegistration
from subscriptions.models import Subscription
from subscriptions.services import MAX_EVALUATION_PERIOD_MINUTES
from trading.serializers import PerformanceLogSerializer, TradeSerializer

NETWORK_CHOICES = [("testnet", "Testnet"), ("mainnet", "Mainnet")]
TIMEFRAME_CHOICES = [(value, value) for value in timeframes.SUPPORTED_TIMEFRAMES]


# --- Registrations ---------------------------------------------------------------------------------------------


class RegistrationSerializer(serializers.ModelSerializer):
    bot = serializers.SlugRelatedField(slug_field="slug", read_only=True, help_text="The catalog bot's slug.")
    bot_name = serializers.CharField(source="bot.name", read_only=True)

    class Meta:
        model = BotMarketplaceRegistration
        fields = [
            "id",
            "bot",
            "bot_name",
            "marketplace_name",
            "marketplace_description",
            "price_on_marketplace",
            "commission_rate",
            "status",
            "is_active",
            "user_principal_id",
            "registered_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "commission_rate": {"help_text": "The platform's commission, a fraction (0.1000 = 10 %)."},
            "user_principal_id": {"help_text": "The partner marketplace's own principal."},
            "status": {"help_text": "approved, or deactivated."},
        }


class RegistrationCreatedSerializer(RegistrationSerializer):
    bot_api_key = serializers.CharField(
        read_only=True,
        help_text="The registration's bot API key (`Marketplace-Key` header). Shown this once: store it now.",
    )

    class Meta(RegistrationSerializer.Meta):
        fields = [*RegistrationSerializer.Meta.fields, "bot_api_key"]
        read_only_fields = fields


class RegistrationCreateSerializer(serializers.Serializer):
    bot = serializers.SlugField(max_length=100, help_text="The slug of an approved catalog bot.")
    marketplace_name = serializers.CharField(max_length=255, help_text="The bot's name on your marketplace.")
    marketplace_description = serializers.CharField(max_length=10_000, required=False, allow_blank=True, default="")
    price_on_marketplace = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, help_text='Your price, as a decimal string ("29.00").'
    )


# --- A principal's keys ----------------------------------------------------------------------------------------


class PrincipalCredentialSerializer(serializers.ModelSerializer):
    exchange = NamedChoiceField(enum_name="ExchangeEnum", choices=Exchange.choices, read_only=True)
    network = serializers.SerializerMethodField()
    masked_key = serializers.CharField(read_only=True, help_text="The key as shown again: ••••ABCD.")
    validation_status = NamedChoiceField(
        enum_name="CredentialValidationStatusEnum",
        choices=ExchangeCredential.ValidationStatus.choices,
        read_only=True,
    )
    registration = serializers.IntegerField(
        source="marketplace_registration_id", read_only=True, help_text="Which of your registrations stored it."
    )

    class Meta:
        model = ExchangeCredential
        fields = [
            "exchange",
            "network",
            "masked_key",
            "api_key_hint",
            "validation_status",
            "validation_error",
            "last_validated",
            "registration",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_network(self, credential: ExchangeCredential) -> str:
        return "testnet" if credential.is_testnet else "mainnet"


class PrincipalCredentialStoreSerializer(serializers.Serializer):
    """The principal's key; checked further by accounts.services.credential_create (lengths, passphrase)."""

    # Trimmed by the service; the limits only keep absurd bodies out.
    api_key = serializers.CharField(write_only=True, min_length=8, max_length=512, trim_whitespace=False)
    api_secret = serializers.CharField(write_only=True, min_length=8, max_length=512, trim_whitespace=False)
    passphrase = serializers.CharField(
        write_only=True, max_length=512, required=False, allow_blank=True, help_text="Coinbase keys only."
    )


# --- A principal's subscriptions -------------------------------------------------------------------------------


class PrincipalSubscriptionSerializer(serializers.ModelSerializer):
    bot = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    principal = serializers.CharField(source="user_principal_id", read_only=True)
    registration = serializers.IntegerField(source="marketplace_registration_id", read_only=True)
    status = NamedChoiceField(enum_name="SubscriptionStatusEnum", choices=Subscription.Status.choices, read_only=True)
    exchange_type = NamedChoiceField(enum_name="ExchangeEnum", choices=Exchange.choices, read_only=True)
    network_type = NamedChoiceField(enum_name="PartnerNetworkEnum", choices=NETWORK_CHOICES, read_only=True)
    trade_mode = NamedChoiceField(
        enum_name="PartnerTradeModeEnum", choices=Subscription.TradeMode.choices, read_only=True
    )
    timeframes = serializers.ListField(child=serializers.CharField(), read_only=True, allow_null=True)
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
            "principal",
            "registration",
            "bot",
            "instance_name",
            "status",
            "status_reason",
            "exchange_type",
            "network_type",
            "trade_mode",
            "trading_pair",
            "timeframe",
            "timeframes",
            "trade_evaluation_period",
            "started_at",
            "expires_at",
            "strategy_config",
            "execution_config",
            "risk_config",
            "total_trades",
            "winning_trades",
            "total_pnl",
            "win_rate",
            "last_run_at",
            "next_run_at",
            "last_error",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "total_pnl": {"help_text": "Closed trades' P&L net of fees, in the quote currency."},
            "trade_evaluation_period": {"help_text": "Minutes between runs; null: one run per closed candle."},
        }


class _ScheduleFields(serializers.Serializer):
    instance_name = serializers.CharField(max_length=255, required=False, allow_blank=True)
    strategy_config = serializers.DictField(required=False, help_text="The bot's settings (its config schema).")
    execution_config = serializers.DictField(required=False, help_text="Order sizing (docs/engine.md).")
    risk_config = serializers.DictField(required=False, help_text="Stop loss, take profit, position limits.")
    trade_evaluation_period = serializers.IntegerField(
        min_value=1,
        max_value=MAX_EVALUATION_PERIOD_MINUTES,
        required=False,
        allow_null=True,
        help_text="Minutes between runs; null or absent: one run per closed candle.",
    )


class PrincipalSubscriptionCreateSerializer(_ScheduleFields):
    started_at = serializers.DateTimeField(
        required=False, help_text="Start of the rental window (ISO 8601); default now; may be in the future."
    )
    expires_at = serializers.DateTimeField(help_text="End of the rental window (ISO 8601): after the start and now.")
    exchange_type = NamedChoiceField(enum_name="ExchangeEnum", choices=Exchange.choices)
    network_type = NamedChoiceField(
        enum_name="PartnerNetworkEnum",
        choices=NETWORK_CHOICES,
        help_text="mainnet trades real money and needs the principal's key that passed validation.",
    )
    trade_mode = NamedChoiceField(
        enum_name="PartnerTradeModeEnum",
        choices=Subscription.TradeMode.choices,
        required=False,
        default=Subscription.TradeMode.SPOT,
        help_text="Spot only for now: Margin and Futures are refused.",
    )
    trading_pair = serializers.CharField(max_length=20, help_text="e.g. BTC/USDT")
    timeframe = NamedChoiceField(enum_name="PartnerTimeframeEnum", choices=TIMEFRAME_CHOICES)
    timeframes = serializers.ListField(
        child=NamedChoiceField(enum_name="PartnerTimeframeEnum", choices=TIMEFRAME_CHOICES),
        required=False,
        allow_empty=True,
        max_length=len(TIMEFRAME_CHOICES),
        help_text="Extra timeframes the bot may read; each must have market data for the pair.",
    )


class PrincipalSubscriptionUpdateSerializer(_ScheduleFields):
    """What may change on a subscription: its name, window, evaluation period and configs. The market, exchange,
    network and trade mode stay: cancel and subscribe again to change them (an open position belongs to them)."""

    started_at = serializers.DateTimeField(required=False)
    expires_at = serializers.DateTimeField(required=False, help_text="May be extended or shortened; not past.")

    FIXED = ("exchange_type", "network_type", "trade_mode", "trading_pair", "timeframe", "timeframes")

    def validate(self, attrs):
        fixed = sorted(set(self.initial_data) & set(self.FIXED)) if isinstance(self.initial_data, dict) else []
        if fixed:
            raise serializers.ValidationError(
                {name: ["This cannot change; cancel the subscription and subscribe again."] for name in fixed}
            )
        return attrs


# --- What the engine did ---------------------------------------------------------------------------------------


class PrincipalTradeSerializer(TradeSerializer):
    """A trader's trade row (trading.serializers), without the subscription (it is in the URL) and with the
    exchange's order id, which a partner reconciles against."""

    class Meta(TradeSerializer.Meta):
        fields = [name for name in TradeSerializer.Meta.fields if name != "subscription"] + ["exchange_order_id"]
        read_only_fields = fields


class PrincipalPerformanceSerializer(PerformanceLogSerializer):
    class Meta(PerformanceLogSerializer.Meta):
        fields = [name for name in PerformanceLogSerializer.Meta.fields if name != "subscription"]
        read_only_fields = fields
