"""Reads of the accounts app, scoped to their owner: another user's rows are never found (the pages answer 404)."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import ExchangeCredential, User


def credential_list(*, user: User) -> QuerySet[ExchangeCredential]:
    """The user's own exchange credentials (not a marketplace principal's), exchange then network."""
    return ExchangeCredential.objects.owned_by(user).order_by("exchange", "is_testnet", "pk")


def credential_get(*, user: User, pk: int) -> ExchangeCredential:
    """One of the user's credentials; raises Http404 for anyone else's."""
    return get_object_or_404(credential_list(user=user), pk=pk)
