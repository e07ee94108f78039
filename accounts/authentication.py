"""`Authorization: Api-Key <key>`: a user's API key (accounts.api_keys) authenticates API requests."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from accounts import api_keys
from accounts.models import User

KEYWORD = "Api-Key"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Authenticates `Authorization: Api-Key <key>`.

    Returns None (so other authenticators may try) when the header is absent or names another scheme; raises
    AuthenticationFailed (401) for a malformed header, an unknown or revoked key, or an inactive user.
    """

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].decode(errors="replace").lower() != KEYWORD.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Send the header as 'Authorization: Api-Key <key>'.")
        try:
            clear_key = parts[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid API key.") from None
        stored_hash = api_keys.hash_key(clear_key)
        # The indexed equality lookup finds the row; matches() repeats the comparison in constant time, so the
        # check itself leaks nothing about how close a guess came. A revoked key's hash is no longer stored.
        user = User.objects.filter(api_key=stored_hash).first()
        if user is None or not api_keys.matches(clear_key, user.api_key):
            raise exceptions.AuthenticationFailed("Invalid API key.")
        if not user.is_active:
            raise exceptions.AuthenticationFailed("This account is disabled.")
        return user, None

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) to unauthenticated requests, with a WWW-Authenticate header.
        return KEYWORD


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Shows the scheme in the OpenAPI document (drf-spectacular finds it by the class path)."""

    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`; create a key on your account page.",
        }
