"""`Authorization: Marketplace-Key <key>`: a partner registration's bot API key authenticates the principal
endpoints of the partner API (docs/partner-api.md).

request.user is the partner account (throttling counts per partner); request.auth is the registration, and every
principal endpoint is scoped by it.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from partners.selectors import registration_for_key, registration_refusal

KEYWORD = "Marketplace-Key"


class MarketplaceKeyAuthentication(authentication.BaseAuthentication):
    """Authenticates `Authorization: Marketplace-Key <key>`.

    Returns None when the header is absent or names another scheme (the request is then anonymous: a 401 on the
    principal endpoints). Raises AuthenticationFailed (401) for a malformed header, an unknown key, a deactivated
    registration, a bot no longer approved, or a partner account that is disabled or no longer a partner. The
    registration is read on every request, so a deactivation takes effect on the very next one.
    """

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].decode(errors="replace").lower() != KEYWORD.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(f"Send the header as 'Authorization: {KEYWORD} <key>'.")
        try:
            clear_key = parts[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid marketplace key.") from None
        registration = registration_for_key(clear_key)
        if registration is None:
            raise exceptions.AuthenticationFailed("Invalid marketplace key.")
        refusal = registration_refusal(registration)
        if refusal:
            raise exceptions.AuthenticationFailed(refusal)
        return registration.partner, registration

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) to unauthenticated requests, with a WWW-Authenticate header.
        return KEYWORD


class MarketplaceKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Declares the scheme in the OpenAPI document (drf-spectacular finds it by the class path)."""

    target_class = "partners.authentication.MarketplaceKeyAuthentication"
    name = "MarketplaceKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Marketplace-Key <key>`: a registration's bot API key, shown once when the bot is "
            "registered (POST /api/v1/marketplace/registrations/).",
        }
