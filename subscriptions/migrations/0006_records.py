"""Trade and PerformanceLog move from trading to subscriptions (a subscription and its record): state only.

The tables `trades` and `performance_logs` stay as trading's migrations made them (columns, indexes, constraints,
defaults, the ON DELETE CASCADE rules and the views of trading 0002): only Django's idea of which app owns the
models changes. trading 0007 then points Order.trade here and forgets its own copies.
"""

import django.db.models.deletion
import django.db.models.functions.datetime
import django.utils.timezone
from django.db import migrations, models

TRADE = migrations.CreateModel(
    name="Trade",
    fields=[
        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
        ("side", models.CharField(choices=[("BUY", "Buy"), ("SELL", "Sell")], max_length=4)),
        ("trading_pair", models.CharField(max_length=20)),
        ("quantity", models.DecimalField(decimal_places=8, max_digits=20)),
        ("entry_price", models.DecimalField(decimal_places=8, max_digits=20)),
        ("exit_price", models.DecimalField(blank=True, decimal_places=8, max_digits=20, null=True)),
        ("stop_loss_price", models.DecimalField(blank=True, decimal_places=8, max_digits=20, null=True)),
        ("take_profit_price", models.DecimalField(blank=True, decimal_places=8, max_digits=20, null=True)),
        (
            "entry_time",
            models.DateTimeField(
                db_default=django.db.models.functions.datetime.Now(), default=django.utils.timezone.now
            ),
        ),
        ("exit_time", models.DateTimeField(blank=True, null=True)),
        ("pnl", models.DecimalField(blank=True, decimal_places=8, max_digits=15, null=True)),
        ("pnl_percentage", models.DecimalField(blank=True, decimal_places=4, max_digits=8, null=True)),
        ("exchange_order_id", models.CharField(blank=True, max_length=100, null=True)),
        ("exchange_trade_id", models.CharField(blank=True, max_length=100, null=True)),
        (
            "status",
            models.CharField(
                choices=[("OPEN", "Open"), ("CLOSED", "Closed")], db_default="OPEN", default="OPEN", max_length=6
            ),
        ),
        ("entry_fee", models.DecimalField(db_default=0, decimal_places=8, default=0, max_digits=20)),
        ("exit_fee", models.DecimalField(db_default=0, decimal_places=8, default=0, max_digits=20)),
        ("exit_reason", models.CharField(blank=True, db_default="", default="", max_length=11)),
        (
            "subscription",
            models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="trades",
                to="subscriptions.subscription",
            ),
        ),
    ],
    options={
        "db_table": "trades",
        "ordering": ["-entry_time", "-id"],
        "indexes": [
            models.Index(fields=["trading_pair"], name="idx_trades_trading_pair"),
            models.Index(fields=["side"], name="idx_trades_side"),
            models.Index(fields=["status"], name="idx_trades_status"),
            models.Index(fields=["entry_time"], name="idx_trades_entry_time"),
            models.Index(fields=["pnl"], name="idx_trades_pnl"),
            models.Index(fields=["exchange_order_id"], name="idx_trades_exchange_order_id"),
            models.Index(fields=["subscription", "entry_time"], name="idx_trades_subscription_time"),
        ],
        "constraints": [
            models.CheckConstraint(condition=models.Q(("side__in", ["BUY", "SELL"])), name="trades_side_valid"),
            models.CheckConstraint(
                condition=models.Q(("status__in", ["OPEN", "CLOSED"])), name="trades_status_valid"
            ),
        ],
    },
)

PERFORMANCE_LOG = migrations.CreateModel(
    name="PerformanceLog",
    fields=[
        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
        (
            "action",
            models.CharField(
                choices=[
                    ("BUY", "Buy"),
                    ("SELL", "Sell"),
                    ("HOLD", "Hold"),
                    ("STOP_LOSS", "Stop loss"),
                    ("TAKE_PROFIT", "Take profit"),
                ],
                max_length=11,
            ),
        ),
        (
            "timestamp",
            models.DateTimeField(
                db_default=django.db.models.functions.datetime.Now(), default=django.utils.timezone.now
            ),
        ),
        ("price", models.DecimalField(decimal_places=8, max_digits=20)),
        ("quantity", models.DecimalField(decimal_places=8, max_digits=20)),
        (
            "balance",
            models.DecimalField(decimal_places=8, help_text="Account balance after the action.", max_digits=20),
        ),
        ("signal_data", models.JSONField(blank=True, null=True)),
        (
            "subscription",
            models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="performance_logs",
                to="subscriptions.subscription",
            ),
        ),
    ],
    options={
        "db_table": "performance_logs",
        "ordering": ["-timestamp", "-id"],
        "indexes": [
            models.Index(fields=["action"], name="idx_perf_action"),
            models.Index(fields=["timestamp"], name="idx_perf_timestamp"),
            models.Index(fields=["price"], name="idx_perf_price"),
            models.Index(fields=["subscription", "action", "timestamp"], name="idx_perf_subscription_action"),
        ],
        "constraints": [
            models.CheckConstraint(
                condition=models.Q(("action__in", ["BUY", "SELL", "HOLD", "STOP_LOSS", "TAKE_PROFIT"])),
                name="performance_logs_action_valid",
            )
        ],
    },
)


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0005_marketplace_registration"),
        # The tables exist (and have their last columns) before any later migration of this app touches them.
        ("trading", "0006_limit_and_protective_orders"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[TRADE, PERFORMANCE_LOG]),
    ]
