"""Celery tasks of the bots app: thin shells that take ids and call one service (queue `backtests`)."""

from celery import shared_task

from bots.validation import bot_version_validate


@shared_task(name="bots.validate_bot_version", ignore_result=True, acks_late=True)
def validate_bot_version(version_id: int) -> None:
    """Validate one uploaded version (bots.validation.bot_version_validate); a redelivery is a no-op once done."""
    bot_version_validate(version_id=version_id)
