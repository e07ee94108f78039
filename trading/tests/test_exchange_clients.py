"""The exchange adapters' registry, the per-process ccxt clients, and what a run asks the exchange for."""

from datetime import timedelta

import pytest

from accounts import crypto
from accounts.models import Exchange
from accounts.tests.factories import ExchangeCredentialFactory
from trading.exceptions import ExchangeNotSupported
from trading.exchanges import clients
from trading.exchanges.binance import BinanceAdapter
from trading.exchanges.bybit import BybitAdapter
from trading.exchanges.registry import adapter_class
from trading.models import Order
from trading.tests.conftest import START, make_testnet_subscription, run_tick


def test_it_has_one_adapter_per_exchange_the_platform_offers():
    for code in Exchange.values:
        adapter = adapter_class(code)
        assert adapter.exchange_code == code
        assert adapter.client_order_id_param and adapter.lookup_param
    assert adapter_class("BINANCE") is BinanceAdapter and adapter_class("BYBIT") is BybitAdapter
    # Only Binance holds protective orders for the engine; only Coinbase wants UUID client ids.
    assert [code for code in Exchange.values if adapter_class(code).protective_orders] == ["BINANCE"]
    assert [code for code in Exchange.values if adapter_class(code).uuid_client_order_ids] == ["COINBASE"]


def test_it_refuses_an_exchange_it_does_not_know():
    with pytest.raises(ExchangeNotSupported):
        adapter_class("MTGOX")


@pytest.mark.django_db
def test_it_reuses_one_client_per_credential(alice, bob):
    alices = ExchangeCredentialFactory(user=alice, is_testnet=True)
    bobs = ExchangeCredentialFactory(user=bob, is_testnet=True)
    first, again = clients.adapter_for(alices), clients.adapter_for(alices)
    assert first is not again  # an adapter lives for one run ...
    assert first.client is again.client  # ... over the process's one client for the key
    assert clients.adapter_for(bobs).client is not first.client
    assert first.key_id == str(alices.pk) and first.testnet


@pytest.mark.django_db
def test_it_builds_a_new_client_when_the_key_is_replaced(alice):
    credential = ExchangeCredentialFactory(user=alice, is_testnet=True)
    before = clients.adapter_for(credential).client
    credential.api_secret_encrypted = crypto.encrypt("a-new-secret-after-rotation")
    credential.save()
    after = clients.adapter_for(credential).client
    assert after is not before
    assert after.secret == "a-new-secret-after-rotation"
    # The old client is dropped: one per credential.
    assert [client for _, client in clients._cache().values()].count(before) == 0


@pytest.mark.django_db
def test_it_keeps_no_clear_secret_in_the_cache_keys(alice):
    credential = ExchangeCredentialFactory(user=alice, is_testnet=True, api_secret="test-api-secret-CLEAR-1234")
    clients.adapter_for(credential)
    fingerprint, _ = clients._cache()[credential.pk]
    assert "CLEAR" not in fingerprint and len(fingerprint) == 64


@pytest.mark.django_db(transaction=True)
def test_it_reads_the_balance_once_per_state_of_the_account_in_a_run(alice, sma_bot, fake_binance, alice_key):
    """A run reads the free balances once; only an order it sends or cancels makes it read them again."""
    make_testnet_subscription(alice, sma_bot, risk_config={"stop_loss_percent": 5})
    writes_seen = reads_seen = 0
    for hour in range(120):
        run_tick(START + timedelta(hours=hour), fake_binance)
        requests = fake_binance.requests()
        reads = sum(r.method == "GET" and r.path == "/api/v3/account" for r in requests) - reads_seen
        writes = sum(r.method in ("POST", "DELETE") for r in requests) - writes_seen
        assert 1 <= reads <= 1 + writes, (hour, reads, writes)
        reads_seen, writes_seen = reads_seen + reads, writes_seen + writes
    assert Order.objects.filter(status="FILLED", purpose="ENTRY").exists()
