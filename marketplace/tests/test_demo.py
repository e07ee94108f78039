import pytest

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
        assert client.login(username=login.email, password=login.password), login.email
    assert User.objects.get(email="admin@demo.local").is_staff
