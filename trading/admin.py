from django.contrib import admin

from common.admin import ReadOnlyAdmin
from trading.models import PerformanceLog, Trade


@admin.register(Trade)
class TradeAdmin(ReadOnlyAdmin):
    list_display = (
        "subscription",
        "side",
        "trading_pair",
        "quantity",
        "entry_price",
        "exit_price",
        "pnl",
        "pnl_percentage",
        "status",
        "entry_time",
        "exit_time",
    )
    list_filter = ("status", "side", "trading_pair")
    search_fields = ("trading_pair", "exchange_order_id", "exchange_trade_id", "subscription__instance_name")
    date_hierarchy = "entry_time"
    list_select_related = ("subscription__bot",)


@admin.register(PerformanceLog)
class PerformanceLogAdmin(ReadOnlyAdmin):
    list_display = ("subscription", "action", "timestamp", "price", "quantity", "balance")
    list_filter = ("action",)
    search_fields = ("subscription__instance_name",)
    date_hierarchy = "timestamp"
    list_select_related = ("subscription__bot",)
