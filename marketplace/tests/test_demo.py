import pytest
from django.http import HttpRequest

from accounts.models import User
from bots.models import Bot
from marketplace.demo import DEMO_LOGINS, demo_load


@pytest.mark.django_db
def test_it_loads_the_demo_once_and_its_logins_work(client):
    first = demo_load()
    assert demo_load() == first, "running it again creates nothing"
    approved = Bot.objects.filter(status=Bot.Status.APPROVED)
    assert set(approved.values_list("slug", flat=True)) == {
        "sma-crossover",
        "rsi-reversion",
        "macd-trend",
        "bollinger-breakout",
    }
    assert all(bot.versions.get().validation_status == "PASSED" for bot in approved)
    assert Bot.objects.filter(status=Bot.Status.PENDING).count() == 1
    for login in DEMO_LOGINS:
        # A request for django-axes, which refuses to judge a login without one.
        assert client.login(request=HttpRequest(), username=login.email, password=login.password), login.email
    assert User.objects.get(email="admin@demo.local").is_staff


@pytest.mark.django_db
def test_it_gives_the_demo_trader_paper_bots_with_history(settings):
    from marketplace.demo import DEMO_SUBSCRIPTIONS, demo_subscriptions_load
    from subscriptions.models import PerformanceLog, Subscription

    settings.MARKET_DATA_REPLAY_LOOP = True  # the demo replays the shipped candles over today's dates
    demo_load()
    assert demo_subscriptions_load() == len(DEMO_SUBSCRIPTIONS)
    assert demo_subscriptions_load() == 0, "running it again creates nothing"
    subscriptions = Subscription.objects.filter(user__email="trader@demo.local")
    assert subscriptions.count() == len(DEMO_SUBSCRIPTIONS)
    assert all(s.is_paper and s.status == "ACTIVE" and s.last_error == "" for s in subscriptions)
    assert PerformanceLog.objects.filter(subscription__in=subscriptions).count() >= 4 * 100
    assert sum(s.trades.count() for s in subscriptions) >= 3
