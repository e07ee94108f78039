"""The trader's record under /api/v1/: trades and decision logs of their own subscriptions, and asking for one
exchange credential to be validated now. Reads come from trading.selectors, filtered by trading.filters."""

from functools import partial

from django.db import transaction
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import credential_get
from accounts.serializers import CredentialSerializer
from common.api.schema import error_responses
from subscriptions.models import PerformanceLog, Trade
from trading import selectors, tasks
from trading.filters import PerformanceLogFilter, TradeFilter
from trading.serializers import PerformanceLogSerializer, TradeSerializer

LIST_RESPONSES = error_responses(400, 401, 404)


@extend_schema(tags=["trading"])
class TradeListApi(generics.ListAPIView):
    """Trades of the caller's subscriptions, newest opened first. Filters: `subscription`, `status`, `side`,
    `opened_after` / `opened_before`, `closed_after` / `closed_before` (ISO 8601; after inclusive, before
    exclusive)."""

    permission_classes = [IsAuthenticated]
    serializer_class = TradeSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = TradeFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return Trade.objects.none()
        return selectors.trade_own_list(user=self.request.user)

    @extend_schema(responses={200: TradeSerializer(many=True), **LIST_RESPONSES})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["trading"])
class PerformanceLogListApi(generics.ListAPIView):
    """Every decision the caller's bots logged (HOLD included), newest first. Filters: `subscription`, `action`,
    `after` / `before` on the decision's time."""

    permission_classes = [IsAuthenticated]
    serializer_class = PerformanceLogSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = PerformanceLogFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return PerformanceLog.objects.none()
        return selectors.performance_log_own_list(user=self.request.user)

    @extend_schema(responses={200: PerformanceLogSerializer(many=True), **LIST_RESPONSES})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(
    tags=["credentials"],
    request=None,
    responses={
        202: OpenApiResponse(
            CredentialSerializer,
            description="Validation is queued; the credential as it is now. Read it again for the verdict.",
        ),
        **error_responses(401, 403, 404),
    },
)
class CredentialValidateApi(APIView):
    """Queue a check of one of the caller's exchange keys against its exchange (trading.credential_validate)."""

    permission_classes = [IsAuthenticated]

    def post(self, request, pk: int):
        credential = credential_get(user=request.user, pk=pk)
        # After the commit, as every enqueue: the worker must find what this request wrote (nothing today, but the
        # request may run inside a transaction).
        transaction.on_commit(partial(tasks.credential_validate.delay, credential.pk))
        return Response(CredentialSerializer(credential).data, status=status.HTTP_202_ACCEPTED)
