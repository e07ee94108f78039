"""API endpoints of the accounts app: who the caller is, and their exchange credentials.

Credentials are read through accounts.selectors (scoped to their owner: another user's is a 404) and written
through accounts.services; their secrets are accepted, never returned. Validation is requested through
trading.apis (the check is the trading engine's).
"""

from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.models import ExchangeCredential
from accounts.serializers import CredentialCreateSerializer, CredentialSerializer
from common.api.schema import error_responses

SECRET_FIELDS = ("api_key", "api_secret", "passphrase")


class MeSerializer(serializers.Serializer):
    email = serializers.EmailField(read_only=True)
    role = serializers.CharField(read_only=True)


@extend_schema(tags=["account"], responses={200: MeSerializer, **error_responses(401)})
class MeApi(APIView):
    """Who the request is authenticated as: a quick check that an API key works."""

    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response(MeSerializer(request.user).data)


# Django's error reports leave these out of a failing request's POST data.
@method_decorator(sensitive_post_parameters(*SECRET_FIELDS), name="dispatch")
@extend_schema(tags=["credentials"])
class CredentialListApi(generics.ListAPIView):
    """The caller's exchange API keys (masked). POST stores a new one, encrypted; its status is `pending` until
    validated (POST /api/v1/credentials/{id}/validate/, or the periodic check)."""

    permission_classes = [IsAuthenticated]
    serializer_class = CredentialSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return ExchangeCredential.objects.none()
        return selectors.credential_list(user=self.request.user)

    @extend_schema(responses={200: CredentialSerializer(many=True), **error_responses(401, 404)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=CredentialCreateSerializer,
        responses={201: CredentialSerializer, **error_responses(400, 401, 403)},
    )
    def post(self, request):
        given = CredentialCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        credential = services.credential_create(user=request.user, request=request, **given.validated_data)
        return Response(CredentialSerializer(credential).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["credentials"])
class CredentialDetailApi(APIView):
    """One of the caller's exchange API keys (masked); DELETE removes it for good."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: CredentialSerializer, **error_responses(401, 404)})
    def get(self, request, pk: int):
        return Response(CredentialSerializer(selectors.credential_get(user=request.user, pk=pk)).data)

    @extend_schema(responses={204: None, **error_responses(401, 403, 404)})
    def delete(self, request, pk: int):
        credential = selectors.credential_get(user=request.user, pk=pk)
        services.credential_delete(credential=credential, actor=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)
