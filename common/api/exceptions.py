"""One error shape for every API error, DRF's own and the apps' domain errors:

    {"error": {"code": "not_found", "message": "Not found.", "fields": {"name": ["This field is required."]}}}

`fields` is present (possibly empty) on every error, so a client reads the shape without checking keys.
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from common.errors import DomainError
from core.sdk import ConfigError

# Anticipated failures whose messages are written to be shown to the user: every app's errors derive from
# DomainError (see each app's exceptions.py), and a bot's config errors come from the SDK.
DOMAIN_ERRORS = (DomainError, ConfigError)


def _field_errors(exc: Exception) -> dict[str, list[str]]:
    """{field: [messages]} carried by a domain error, if it has any."""
    errors = getattr(exc, "errors", None)
    if isinstance(errors, list):  # bots.sdk.ConfigError: [{"field", "message"}]
        fields: dict[str, list[str]] = {}
        for item in errors:
            fields.setdefault(item.get("field") or "non_field_errors", []).append(item["message"])
        return fields
    if isinstance(errors, dict):
        fields = {}
        for field, messages in errors.items():
            for message in messages:
                # BotConfigInvalid: {"config_schema": [{"field", "message"}]}; SubscriptionInvalid: {field: [str]}.
                if isinstance(message, dict):
                    name = f"{field}.{message['field']}" if message.get("field") else field
                    fields.setdefault(name, []).append(message["message"])
                else:
                    fields.setdefault(field, []).append(str(message))
        return fields
    field = getattr(exc, "field", None)  # bots.exceptions.UploadRejected
    return {field: [str(exc)]} if field else {}


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested ValidationError detail as {"a.b": [messages]}."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            for name, messages in _flatten(value, f"{prefix}.{key}" if prefix else str(key)).items():
                flat.setdefault(name, []).extend(messages)
        return flat
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        flat = {}
        for index, item in enumerate(detail):
            for name, messages in _flatten(item, f"{prefix}.{index}" if prefix else str(index)).items():
                flat.setdefault(name, []).extend(messages)
        return flat
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix or "non_field_errors": [str(message) for message in messages]}


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]. Returns None (a 500 from Django) for unexpected exceptions only."""
    if isinstance(exc, DOMAIN_ERRORS):
        # A domain error may name its own status and code (partners.exceptions.CredentialConflict: 409 `conflict`).
        code = getattr(exc, "code", "invalid")
        status_code = getattr(exc, "status_code", status.HTTP_400_BAD_REQUEST)
        return Response(error_body(code, str(exc), _field_errors(exc)), status=status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)  # keeps DRF's headers: WWW-Authenticate, Retry-After
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        body = error_body("invalid", "The request is invalid; see the fields.", _flatten(exc.detail))
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        body = error_body(str(code), str(detail))
    response.data = body
    return response
