"""Database-level rules of the seed that Django does not create: ON DELETE CASCADE and the analytics views."""
from django.db import migrations

from common.migration_ops import CascadeOnDelete, MySQLOnly

# The seed's views, verbatim (../shared/seed/database-schema.md, "Analytics Views"). Created on MySQL/MariaDB only:
# SQLite rebuilds a table to alter it, and a view that names the table makes every later migration fail there.
USER_PERFORMANCE_SUMMARY = """
CREATE VIEW user_performance_summary AS
SELECT
    u.id as user_id,
    u.email,
    u.user_principal_id,
    COUNT(DISTINCT s.id) as active_subscriptions,
    COUNT(DISTINCT t.id) as total_trades,
    SUM(CASE WHEN t.pnl > 0 THEN 1 ELSE 0 END) as winning_trades,
    ROUND(AVG(t.pnl), 2) as avg_pnl,
    ROUND(SUM(t.pnl), 2) as total_pnl,
    ROUND(100.0 * SUM(CASE WHEN t.pnl > 0 THEN 1 ELSE 0 END) / COUNT(t.id), 2) as win_rate
FROM users u
LEFT JOIN subscriptions s ON u.id = s.user_id AND s.status = 'ACTIVE'
LEFT JOIN trades t ON s.id = t.subscription_id
GROUP BY u.id, u.email, u.user_principal_id
"""

BOT_PERFORMANCE_SUMMARY = """
CREATE VIEW bot_performance_summary AS
SELECT
    b.id as bot_id,
    b.name as bot_name,
    b.developer_id,
    COUNT(DISTINCT s.id) as total_subscriptions,
    COUNT(DISTINCT CASE WHEN s.status = 'ACTIVE' THEN s.id END) as active_subscriptions,
    COUNT(DISTINCT t.id) as total_trades,
    ROUND(AVG(t.pnl), 2) as avg_pnl_per_trade,
    ROUND(SUM(t.pnl), 2) as total_pnl,
    ROUND(100.0 * SUM(CASE WHEN t.pnl > 0 THEN 1 ELSE 0 END) / COUNT(t.id), 2) as win_rate,
    MAX(t.entry_time) as last_trade_time
FROM bots b
LEFT JOIN subscriptions s ON b.id = s.bot_id
LEFT JOIN trades t ON s.id = t.subscription_id
WHERE b.status = 'APPROVED'
GROUP BY b.id, b.name, b.developer_id
"""


class Migration(migrations.Migration):
    # MySQL cannot roll DDL back, and Django refuses DDL inside a transaction there.
    atomic = False

    dependencies = [
        ("accounts", "0001_initial"),
        ("bots", "0001_initial"),
        ("subscriptions", "0001_initial"),
        ("trading", "0001_initial"),
    ]

    operations = [
        CascadeOnDelete("exchange_credentials", "user_id", "users"),
        CascadeOnDelete("subscriptions", "user_id", "users"),
        CascadeOnDelete("trades", "subscription_id", "subscriptions"),
        CascadeOnDelete("performance_logs", "subscription_id", "subscriptions"),
        MySQLOnly(USER_PERFORMANCE_SUMMARY, "DROP VIEW IF EXISTS user_performance_summary"),
        MySQLOnly(BOT_PERFORMANCE_SUMMARY, "DROP VIEW IF EXISTS bot_performance_summary"),
    ]
