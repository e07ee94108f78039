from django.core.management.base import BaseCommand

from marketplace.demo import DEMO_LOGINS


class Command(BaseCommand):
    help = "Print the site URL and the demo logins (local demo only)."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/")

    def handle(self, *args, **options):
        url = options["url"]
        self.stdout.write(self.style.SUCCESS(f"\nBot Marketplace is starting at {url}  (staff admin: {url}admin/)"))
        for login in DEMO_LOGINS:
            self.stdout.write(f"  {login.role:<15} {login.email:<22} password: {login.password}")
        self.stdout.write("")
