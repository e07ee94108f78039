"""The error shape in the OpenAPI document: `ErrorSerializer` and `error_responses(...)` for `extend_schema`.

Every operation declares the error statuses it can answer, so a client (and schemathesis) can rely on the schema:

    @extend_schema(responses={200: BotSerializer, **error_responses(401, 404)})

429 (throttled) is added to every call: the throttles apply to every endpoint.
"""

from typing import TYPE_CHECKING, Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import Direction, OpenApiResponse
from rest_framework import serializers

if TYPE_CHECKING:  # the generator imports this module's extensions: no import of it at run time
    from drf_spectacular.openapi import AutoSchema


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="DRF's error code: invalid, not_authenticated, not_found, throttled, ...")
    message = serializers.CharField(help_text="Safe to show a user.")
    # DRF's metaclass moves declared fields into _declared_fields, so this does not replace Serializer.fields.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per field (nested fields joined with dots); empty when no field is to blame.",
    )


class ErrorSerializer(serializers.Serializer):
    """The body of every error response (common.api.exceptions)."""

    error = ErrorDetailSerializer()


ERROR_DESCRIPTIONS = {
    400: "Invalid input: `fields` names what is wrong (code `invalid`).",
    401: "No credentials, or a wrong, revoked or malformed API key (`not_authenticated` / `authentication_failed`).",
    403: "Authenticated but not allowed (`permission_denied`); also a session write without the CSRF token.",
    404: "No such object, someone else's object, or a page past the end (`not_found`).",
    429: "Too many requests (`throttled`); see the `Retry-After` header.",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """{status: OpenApiResponse(ErrorSerializer)} for each of `statuses`, plus 429, for extend_schema(responses=)."""
    return {
        status: OpenApiResponse(response=ErrorSerializer, description=ERROR_DESCRIPTIONS[status])
        for status in sorted({*statuses, 429})
    }


class NamedChoiceField(serializers.ChoiceField):
    """A ChoiceField whose choices are their own schema component, `enum_name`.

    drf-spectacular names an enum after its field: two different choice sets called `status` (a bot's, a
    subscription's) clash and warn, and the fix it suggests, ENUM_NAME_OVERRIDES, is a global setting. A named
    component is referenced by `$ref`, so it never takes part in that naming.
    """

    def __init__(self, *, enum_name: str, **kwargs: Any) -> None:
        self.enum_name = enum_name
        super().__init__(**kwargs)


class NamedChoiceFieldExtension(OpenApiSerializerFieldExtension):
    target_class = NamedChoiceField

    def map_serializer_field(self, auto_schema: "AutoSchema", direction: Direction) -> dict[str, Any]:
        field = self.target
        values = list(field.choices)
        component = ResolvedComponent(
            name=field.enum_name,
            type=ResolvedComponent.SCHEMA,
            object=field.enum_name,
            schema={
                "type": "string",
                "enum": values,
                "description": "\n".join(f"* `{value}` - {label}" for value, label in field.choices.items()),
            },
        )
        auto_schema.registry.register_on_missing(component)
        if field.allow_null:
            # OpenAPI 3.0: a $ref takes no siblings, so a nullable reference wraps it in allOf.
            return {"allOf": [component.ref], "nullable": True}
        return component.ref
