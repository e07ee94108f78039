"""The developer's own bots under /api/v1/developer/bots/, with their subscribers and revenue (the figures of the
developer portal's dashboard, catalog.developer_views). Developer accounts and staff only, as all of
bots.developer_apis; creating a bot goes through bots.services.bot_create, as on the portal's form."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from bots.developer_apis import IsDeveloper
from bots.models import Bot
from bots.serializers import BotCreateSerializer, DeveloperBotDetailSerializer, DeveloperBotSerializer
from bots.services import bot_create
from catalog.selectors import developer_bots
from common.api.pagination import StandardPagination
from common.api.schema import error_responses
from subscriptions.selectors import bot_subscription_totals


def _developer_bots(developer) -> list[Bot]:
    """developer_bots (the portal's figures) with `total_subscriptions` on each: two queries in all."""
    bots = developer_bots(developer=developer)
    totals = bot_subscription_totals(bot_ids=[bot.pk for bot in bots])
    for bot in bots:
        bot.total_subscriptions = totals.get(bot.pk, 0)
        bot.developer = developer  # it is the caller: no query per row for `developer_name`
    return bots


def _developer_bot(developer, slug: str) -> Bot:
    """One of the developer's bots with the list's figures. Raises Http404 for an unknown or another's bot.

    Picked from the developer's list, so the figures are the portal's exactly; a developer has a handful of bots.
    """
    for bot in _developer_bots(developer):
        if bot.slug == slug:
            return bot
    raise Http404("No such bot.")


@extend_schema(tags=["developer"])
class DeveloperBotListApi(GenericAPIView):
    """The caller's bots, newest first, with moderation status, subscribers and revenue. POST (multipart, as the
    portal's form) creates a bot with its first version: PENDING until it passes validation and staff approve it."""

    permission_classes = [IsDeveloper]
    parser_classes = [MultiPartParser, FormParser]
    serializer_class = DeveloperBotSerializer
    pagination_class = StandardPagination

    @extend_schema(responses={200: DeveloperBotSerializer(many=True), **error_responses(401, 403, 404)})
    def get(self, request):
        page = self.paginate_queryset(_developer_bots(request.user))
        return self.get_paginated_response(DeveloperBotSerializer(page, many=True).data)

    @extend_schema(
        request={"multipart/form-data": BotCreateSerializer},
        responses={201: DeveloperBotDetailSerializer, **error_responses(400, 401, 403)},
    )
    def post(self, request):
        given = BotCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        bot = bot_create(developer=request.user, **given.validated_data)
        return Response(
            DeveloperBotDetailSerializer(_developer_bot(request.user, bot.slug)).data, status=status.HTTP_201_CREATED
        )


@extend_schema(tags=["developer"], responses={200: DeveloperBotDetailSerializer, **error_responses(401, 403, 404)})
class DeveloperBotDetailApi(APIView):
    """One of the caller's bots, with its config schema and the figures of the list."""

    permission_classes = [IsDeveloper]

    def get(self, request, slug: str):
        return Response(DeveloperBotDetailSerializer(_developer_bot(request.user, slug)).data)
