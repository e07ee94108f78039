"""Catalog endpoints under /api/v1/: public reads, a trader's reviews. Queries come from catalog.selectors and
catalog.filters; the review is written by catalog.services.review_create_or_update, as on the bot's page."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import AllowAny, IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.response import Response

from bots.models import BotReview
from bots.selectors import bot_get_for_page, bot_versions
from catalog import selectors
from catalog.backtest_summary import bot_backtest
from catalog.exceptions import ReviewNotAllowed
from catalog.filters import BotCatalogFilter
from catalog.serializers import (
    BotDetailSerializer,
    BotListSerializer,
    BotReviewSerializer,
    CategorySerializer,
    OwnReviewSerializer,
    ReviewWriteSerializer,
)
from catalog.services import review_create_or_update
from common.api.schema import error_responses


@extend_schema(tags=["catalog"], responses={200: CategorySerializer(many=True), **error_responses(401, 404)})
class CategoryListApi(generics.ListAPIView):
    """The categories a bot may belong to: the values `?category=` accepts on the bot list."""

    permission_classes = [AllowAny]
    serializer_class = CategorySerializer

    def get_queryset(self):
        # The catalog filter's own category choices, so the two never disagree.
        return BotCatalogFilter.base_filters["category"].queryset.all()


@extend_schema(tags=["catalog"], responses={200: BotListSerializer(many=True), **error_responses(400, 401, 404)})
class BotListApi(generics.ListAPIView):
    """Approved bots, filtered and sorted as the catalog page (catalog.filters.BotCatalogFilter): `q`, `category`,
    `bot_type`, `pricing`, `price_min`, `price_max`, `exchange`, `include_retired`, `sort`. An invalid filter
    value is a 400 in the error shape."""

    permission_classes = [AllowAny]
    serializer_class = BotListSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = BotCatalogFilter

    def get_queryset(self):
        # The same annotated queryset catalog.selectors.bot_catalog hands the filter on the catalog page.
        return selectors.bot_catalog_queryset()


@extend_schema(tags=["catalog"], responses={200: BotDetailSerializer, **error_responses(401, 404)})
class BotDetailApi(generics.RetrieveAPIView):
    """One bot by slug with its version history. Pending and rejected bots are a 404 except to their developer
    and staff."""

    permission_classes = [AllowAny]
    serializer_class = BotDetailSerializer

    def get_object(self):
        bot = bot_get_for_page(slug=self.kwargs["slug"], viewer=self.request.user)
        bot.version_history = bot_versions(bot=bot)
        bot.backtest = bot_backtest(bot)
        bot.recent_performance = selectors.bot_recent_performance(bot=bot)
        return bot


@extend_schema(tags=["catalog"])
class BotReviewListApi(generics.ListAPIView):
    """A bot's reviews, most recently edited first. POST writes the caller's review of it (a second POST edits
    it): only traders who have or had a subscription to the bot, never its developer."""

    # Reading is public; writing needs a user.
    permission_classes = [IsAuthenticatedOrReadOnly]
    serializer_class = BotReviewSerializer

    def get_queryset(self):
        bot = bot_get_for_page(slug=self.kwargs["slug"], viewer=self.request.user)
        return selectors.bot_reviews(bot=bot)

    @extend_schema(responses={200: BotReviewSerializer(many=True), **error_responses(401, 404)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=ReviewWriteSerializer,
        responses={
            200: OwnReviewSerializer,
            201: OwnReviewSerializer,
            **error_responses(400, 401, 403, 404),
        },
        description="201 with a new review, 200 when it replaced the caller's earlier one. 403 for a user who "
        "may not review the bot (no subscription to it, or its developer).",
    )
    def post(self, request, slug: str):
        bot = bot_get_for_page(slug=slug, viewer=request.user)
        if not selectors.user_may_review(bot=bot, user=request.user):
            raise PermissionDenied(str(ReviewNotAllowed()))
        given = ReviewWriteSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        review, created = review_create_or_update(bot=bot, user=request.user, **given.validated_data)
        return Response(
            OwnReviewSerializer(review).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


@extend_schema(tags=["reviews"], responses={200: OwnReviewSerializer(many=True), **error_responses(401, 404)})
class OwnReviewListApi(generics.ListAPIView):
    """The reviews the caller wrote, most recently edited first."""

    permission_classes = [IsAuthenticated]
    serializer_class = OwnReviewSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return BotReview.objects.none()
        return selectors.review_own_list(user=self.request.user)
