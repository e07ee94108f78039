"""Who may call the partner API: partner accounts (registrations) and registration keys (principal endpoints)."""

from rest_framework.permissions import BasePermission

from partners.models import BotMarketplaceRegistration
from partners.selectors import is_partner


class IsPartner(BasePermission):
    """An active account with its own principal id and the permission partners.add_botmarketplaceregistration."""

    message = "Only partner marketplaces may do this; ask the staff for access."

    def has_permission(self, request, view) -> bool:
        return is_partner(request.user)


class IsRegistrationKey(BasePermission):
    """The request was authenticated by a registration's bot API key (partners.authentication)."""

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, BotMarketplaceRegistration)
