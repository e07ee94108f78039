from django.conf import settings
from django.core.management.base import BaseCommand

from marketplace.demo import demo_load, demo_subscriptions_load


class Command(BaseCommand):
    help = "Load the demo catalog and logins (idempotent)."

    def handle(self, *args, **options):
        counts = demo_load()
        if settings.MARKET_DATA_SOURCE == "replay":
            counts["new paper subscriptions"] = demo_subscriptions_load()
        self.stdout.write(self.style.SUCCESS("Demo data ready: " + ", ".join(f"{v} {k}" for k, v in counts.items())))
