from django.core.management.base import BaseCommand

from accounts.services import credentials_rotate


class Command(BaseCommand):
    help = "Re-encrypt every exchange credential under the newest key of FERNET_KEYS (the first one)."

    def handle(self, *args, **options):
        rotated = credentials_rotate()
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {rotated} credential(s) under the newest key."))
