from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from trading.engine.batch import run_batch
from trading.scheduler import claim_due


class Command(BaseCommand):
    help = "One scheduler tick, synchronously: claim the due subscriptions, run them, print what ran."

    def add_arguments(self, parser):
        parser.add_argument("--now", help="The tick's time, ISO-8601 with a timezone (default: now).")

    def handle(self, *args, **options):
        now = timezone.now()
        if options["now"]:
            try:
                now = datetime.fromisoformat(options["now"])
            except ValueError:
                raise CommandError(f"--now must be ISO-8601, got {options['now']!r}") from None
            if now.tzinfo is None:
                raise CommandError("--now needs a timezone, e.g. 2021-06-01T12:00:00+00:00")
        batches = claim_due(now)
        if not batches:
            self.stdout.write(f"{now.isoformat()}: nothing due.")
        for batch in batches:
            # The same service the Celery task calls; `now` keeps stale-data checks relative to the tick.
            for report in run_batch(subscription_ids=list(batch.subscription_ids), run_at=batch.run_at, now=now):
                line = f"{report.run_at.isoformat()} subscription {report.subscription_id}: {report.outcome}"
                self.stdout.write(line + (f" ({report.detail})" if report.detail else ""))
