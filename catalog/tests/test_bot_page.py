"""A bot's page: its description, versions, default config, the platform's backtest and its paper/live records
(never mixed), what subscribers got, and who may see a bot that is not public."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse

from bots.models import Bot
from bots.tests.factories import BotFactory, BotReviewFactory, BotVersionFactory
from catalog.backtest_summary import bot_backtest
from catalog.track_record import histogram, records_for_bot
from marketplace.tests.pages import REPLAY_START, builtin_bot, paper_subscription
from subscriptions.models import Subscription
from subscriptions.tests.factories import ClosedTradeFactory, PerformanceLogFactory, SubscriptionFactory, TradeFactory
from trading.models import PaperAccount


@pytest.fixture(autouse=True)
def every_result_published(settings):
    # These tests check the figures on one or two subscriptions; the privacy threshold (publish only groups of at
    # least SUBSCRIBER_OUTCOMES_MIN_GROUP) has its own tests in marketplace/tests/security/test_aggregate_outcomes.py.
    settings.SUBSCRIBER_OUTCOMES_MIN_GROUP = 1


def _url(bot) -> str:
    return reverse("bots:detail", args=[bot.slug])


def _trade(subscription, *, pnl, hours, entry="100", quantity="10"):
    """A closed trade: bought `quantity` at `entry` (no fee), closed `hours` after REPLAY_START with `pnl`."""
    exit_time = REPLAY_START + timedelta(hours=hours)
    return ClosedTradeFactory(
        subscription=subscription,
        quantity=Decimal(quantity),
        entry_price=Decimal(entry),
        entry_fee=Decimal("0"),
        entry_time=exit_time - timedelta(hours=1),
        exit_time=exit_time,
        pnl=Decimal(pnl),
    )


@pytest.mark.django_db
def test_it_shows_a_bot_with_its_backtest_versions_and_default_config(client):
    cache.clear()
    bot = builtin_bot()
    BotVersionFactory(bot=bot, version="1.1.0", changelog="Faster warm-up.", validation_status="FAILED")
    response = client.get(_url(bot))
    page = response.content.decode()
    assert response.status_code == 200
    assert bot.description in page
    assert "Faster warm-up." in page and "1.0.0" in page
    assert "&quot;fast&quot;: 10" in page  # pretty JSON of the default config
    assert "Backtest" in page and "Binance BTC/USDT, 1h candles" in page
    backtest = response.context["backtest"]
    assert backtest.result["stats"]["trades"] > 0
    assert len(backtest.result["equity_curve"]) <= 400
    assert "chart-backtest" in page and "chart.umd.min.js" in page


@pytest.mark.django_db
def test_it_caches_the_backtest_per_version(django_assert_max_num_queries, monkeypatch):
    cache.clear()
    bot = builtin_bot()
    first = bot_backtest(bot)
    monkeypatch.setattr("catalog.backtest_summary.run_backtest", lambda *a, **k: pytest.fail("ran again"))
    assert bot_backtest(bot) == first


@pytest.mark.django_db
def test_it_explains_when_there_is_no_backtest(client):
    bot = BotFactory(status=Bot.Status.APPROVED)  # no version at all
    assert "No version of this bot has passed validation yet." in client.get(_url(bot)).content.decode()
    BotVersionFactory(bot=bot, builtin_slug="", code_path="uploads/bot.py", validation_status="PASSED")
    assert "sandbox runtime" in client.get(_url(bot)).content.decode()


@pytest.mark.django_db
def test_it_keeps_paper_and_live_records_apart(alice, bob):
    bot = builtin_bot()
    paper = paper_subscription(alice, bot)
    PaperAccount.objects.create(subscription=paper, starting_balance=Decimal("1000"), quote_balance=Decimal("1000"))
    _trade(paper, pnl="100", hours=1)
    _trade(paper, pnl="-50", hours=30)
    testnet = SubscriptionFactory(bot=bot, user=bob, network_type="testnet")
    PerformanceLogFactory(subscription=testnet, balance=Decimal("500"), timestamp=REPLAY_START)
    _trade(testnet, pnl="-20", hours=2)
    records = records_for_bot(bot)
    assert records["paper"].stats.trades == 2 and records["paper"].realized_pnl == Decimal("50")
    assert records["paper"].capital == Decimal("1000")
    assert records["paper"].stats.roi == pytest.approx(0.05)
    assert records["testnet"].stats.trades == 1 and records["testnet"].capital == Decimal("500")
    assert records["testnet"].stats.roi == pytest.approx(-0.04)
    assert not records["mainnet"].has_data and records["mainnet"].stats is None


@pytest.mark.django_db
def test_it_counts_the_floating_loss_of_an_open_trade_in_the_drawdown(alice):
    bot = builtin_bot()
    paper = paper_subscription(alice, bot)
    PaperAccount.objects.create(subscription=paper, starting_balance=Decimal("1000"), quote_balance=Decimal("0"))
    _trade(paper, pnl="100", hours=1)
    TradeFactory(
        subscription=paper, quantity=Decimal("10"), entry_price=Decimal("100"), entry_fee=Decimal("1"),
        entry_time=REPLAY_START + timedelta(days=2),
    )
    # The last logged price marks the open trade: 10 × 80 − (10 × 100 + 1) = −201.
    PerformanceLogFactory(subscription=paper, price=Decimal("80"), timestamp=REPLAY_START + timedelta(days=3))
    record = records_for_bot(bot)["paper"]
    assert record.open_trades == 1
    assert record.floating_pnl == Decimal("-201")
    assert record.stats.final_balance == Decimal("899")  # 1000 + 100 − 201
    assert record.stats.max_drawdown == Decimal("201")  # from the 1100 peak
    assert record.stats.max_drawdown_pct == pytest.approx(201 / 1100)
    assert record.distribution.pnl_min == Decimal("-101")


@pytest.mark.django_db
def test_it_shows_what_subscribers_got(client, alice, bob):
    bot = builtin_bot()
    for owner, pnl in ((alice, "300"), (bob, "-100")):
        subscription = paper_subscription(owner, bot)
        PaperAccount.objects.create(
            subscription=subscription, starting_balance=Decimal("1000"), quote_balance=Decimal("1000")
        )
        _trade(subscription, pnl=pnl, hours=3)
    # A subscription cancelled long ago still counts: the record is the bot's whole history.
    gone = paper_subscription(alice, bot, status=Subscription.Status.CANCELLED)
    PaperAccount.objects.create(subscription=gone, starting_balance=Decimal("1000"), quote_balance=Decimal("1000"))
    _trade(gone, pnl="0", hours=5)
    distribution = records_for_bot(bot)["paper"].distribution
    assert distribution.count == 3
    assert (distribution.pnl_min, distribution.pnl_median, distribution.pnl_max) == (
        Decimal("-100"), Decimal("0"), Decimal("300"),
    )
    assert (distribution.roi_min, distribution.roi_max) == (pytest.approx(-0.1), pytest.approx(0.3))
    assert sum(bucket.count for bucket in distribution.histogram) == 3
    page = client.get(_url(bot)).content.decode()
    assert "What its 3 subscriptions got" in page
    assert "No live on mainnet subscription has run this bot yet." in page


def test_it_buckets_returns_into_a_histogram():
    buckets = histogram([-0.1, 0.0, 0.05, 0.3], buckets=4)
    assert [bucket.count for bucket in buckets] == [1, 2, 0, 1]  # [-0.1, 0), [0, 0.1), [0.1, 0.2), [0.2, 0.3]
    assert (buckets[0].width_pct, buckets[1].width_pct, buckets[2].width_pct) == (50, 100, 0)
    assert [bucket.count for bucket in histogram([0.2, 0.2])] == [2]
    assert histogram([]) == []


@pytest.mark.django_db
def test_it_keeps_a_retired_bots_page_and_record(client, alice):
    bot = builtin_bot(status=Bot.Status.ARCHIVED)
    subscription = paper_subscription(alice, bot, status=Subscription.Status.CANCELLED)
    _trade(subscription, pnl="12", hours=1)
    response = client.get(_url(bot))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Retired" in page and "takes no new subscriptions" in page
    assert reverse("subscriptions:subscribe", args=[bot.slug]) not in page
    assert response.context["records"][0].stats.trades == 1


@pytest.mark.django_db
def test_it_hides_a_bot_under_review_from_everyone_but_its_developer_and_staff(client, alice, staff):
    bot = BotFactory(status=Bot.Status.PENDING)
    assert client.get(_url(bot)).status_code == 404
    client.force_login(alice)
    assert client.get(_url(bot)).status_code == 404
    client.force_login(bot.developer)
    assert "(preview)" in client.get(_url(bot)).content.decode()
    client.force_login(staff)
    assert client.get(_url(bot)).status_code == 200
    assert client.get(reverse("bots:detail", args=["no-such-bot"])).status_code == 404


@pytest.mark.django_db
def test_it_renders_a_bot_page_with_a_bounded_query_count(client, alice, django_assert_max_num_queries):
    cache.clear()
    bot = builtin_bot()
    bot_backtest(bot)  # cached, as after the first visit

    def populate(subscriptions):
        for n in range(subscriptions):
            subscription = paper_subscription(alice, bot, is_paper=n % 2 == 0, network_type="testnet")
            _trade(subscription, pnl="1", hours=n + 1)
            PerformanceLogFactory(subscription=subscription, timestamp=REPLAY_START + timedelta(hours=n))
            BotReviewFactory(bot=bot)

    populate(2)
    client.force_login(alice)
    with django_assert_max_num_queries(12) as few:
        client.get(_url(bot))
    populate(20)
    with django_assert_max_num_queries(12) as many:
        response = client.get(_url(bot))
    assert response.context["records"][0].subscriptions == 11
    assert len(many.captured_queries) == len(few.captured_queries)
