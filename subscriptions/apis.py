"""The trader's subscriptions under /api/v1/subscriptions/: list, subscribe, settings, pause / resume / cancel.

Each call goes through the same service as the web pages (subscriptions.services); the selectors scope every read
to the caller, so another user's subscription (or a marketplace principal's) is a 404.
"""

import django_filters
from django.http import Http404
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from bots.selectors import bot_get_for_page
from common.api.schema import error_responses
from subscriptions import selectors, services
from subscriptions.models import Subscription
from subscriptions.serializers import (
    SubscriptionCreateSerializer,
    SubscriptionSerializer,
    SubscriptionUpdateSerializer,
)

CONFIGS = ("strategy_config", "execution_config", "risk_config")


class SubscriptionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Subscription.Status.choices)

    class Meta:
        model = Subscription
        fields = ["status"]


class _OwnSubscriptionApi(generics.GenericAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = SubscriptionSerializer

    def get_serializer_context(self):
        # One clock for the whole response: every row's `health.late` is judged at the same moment.
        return super().get_serializer_context() | {"now": timezone.now()}

    def get_object(self) -> Subscription:
        return selectors.subscription_own_get(user=self.request.user, pk=self.kwargs["pk"])

    def respond(self, subscription: Subscription, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(subscription).data, status=status_code)


@extend_schema(tags=["subscriptions"])
class SubscriptionListApi(generics.ListAPIView, _OwnSubscriptionApi):
    """The caller's subscriptions, newest first; `?status=` filters. POST subscribes to a bot."""

    filter_backends = [DjangoFilterBackend]
    filterset_class = SubscriptionFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return Subscription.objects.none()
        return selectors.subscription_own_list(user=self.request.user)

    @extend_schema(responses={200: SubscriptionSerializer(many=True), **error_responses(400, 401, 404)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=SubscriptionCreateSerializer,
        responses={201: SubscriptionSerializer, **error_responses(400, 401, 403)},
        description="Subscribe to an approved bot, validated exactly as the subscribe page "
        "(subscriptions.services.subscription_create). Nothing is stored on a 400.",
    )
    def post(self, request):
        given = SubscriptionCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = dict(given.validated_data)
        try:
            bot = bot_get_for_page(slug=data.pop("bot"), viewer=request.user)
        except Http404:
            raise serializers.ValidationError({"bot": ["No such bot."]}) from None
        subscription = services.subscription_create(user=request.user, bot=bot, request=request, **data)
        return self.respond(subscription, status.HTTP_201_CREATED)


@extend_schema(tags=["subscriptions"])
class SubscriptionDetailApi(_OwnSubscriptionApi):
    """One of the caller's subscriptions; PATCH changes its name and configs (the next run uses them)."""

    @extend_schema(responses={200: SubscriptionSerializer, **error_responses(401, 404)})
    def get(self, request, pk: int):
        return self.respond(self.get_object())

    @extend_schema(
        request=SubscriptionUpdateSerializer,
        responses={200: SubscriptionSerializer, **error_responses(400, 401, 403, 404)},
    )
    def patch(self, request, pk: int):
        subscription = self.get_object()
        given = SubscriptionUpdateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        # A PATCH changes what it names: the service takes every config, and None would mean "the defaults".
        configs = {name: data.get(name, getattr(subscription, name)) for name in CONFIGS}
        updated = services.subscription_update_config(
            subscription=subscription,
            actor=request.user,
            instance_name=data.get("instance_name"),
            request=request,
            **configs,
        )
        return self.respond(updated)


class _StatusChangeApi(_OwnSubscriptionApi):
    service = None  # staticmethod(one of subscriptions.services.subscription_pause / _resume / _cancel)

    def post(self, request, pk: int):
        subscription = self.get_object()
        self.service(subscription=subscription, actor=request.user, request=request)
        return self.respond(subscription)


STATUS_CHANGE_SCHEMA = {
    "tags": ["subscriptions"],
    "request": None,
    "responses": {200: SubscriptionSerializer, **error_responses(400, 401, 403, 404)},
}


@extend_schema(**STATUS_CHANGE_SCHEMA, description="Pause: no runs until resumed. A 400 when it cannot be paused.")
class SubscriptionPauseApi(_StatusChangeApi):
    service = staticmethod(services.subscription_pause)


@extend_schema(
    **STATUS_CHANGE_SCHEMA,
    description="Resume a paused or stopped subscription from the next closed candle (missed ones are not replayed).",
)
class SubscriptionResumeApi(_StatusChangeApi):
    service = staticmethod(services.subscription_resume)


@extend_schema(**STATUS_CHANGE_SCHEMA, description="Cancel for good; the record stays readable.")
class SubscriptionCancelApi(_StatusChangeApi):
    service = staticmethod(services.subscription_cancel)
