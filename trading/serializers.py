"""What the engine did, for the API: trades and decision logs. Amounts are strings (COERCE_DECIMAL_TO_STRING)."""

from rest_framework import serializers

from common.api.schema import NamedChoiceField
from subscriptions.models import PerformanceLog, Trade


class TradeSerializer(serializers.ModelSerializer):
    status = NamedChoiceField(enum_name="TradeStatusEnum", choices=Trade.Status.choices, read_only=True)
    subscription = serializers.IntegerField(source="subscription_id", read_only=True)

    class Meta:
        model = Trade
        fields = [
            "id",
            "subscription",
            "side",
            "trading_pair",
            "status",
            "quantity",
            "entry_price",
            "entry_time",
            "entry_fee",
            "exit_price",
            "exit_time",
            "exit_fee",
            "exit_reason",
            "stop_loss_price",
            "take_profit_price",
            "pnl",
            "pnl_percentage",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "pnl": {"help_text": "Net of fees, in the quote currency; null while open."},
            "pnl_percentage": {"help_text": "In percent (2.5 = 2.5 %)."},
        }


class PerformanceLogSerializer(serializers.ModelSerializer):
    subscription = serializers.IntegerField(source="subscription_id", read_only=True)
    signal_data = serializers.JSONField(read_only=True, help_text="The indicators the bot used (an object, or null).")

    class Meta:
        model = PerformanceLog
        fields = ["id", "subscription", "timestamp", "action", "price", "quantity", "balance", "signal_data"]
        read_only_fields = fields
