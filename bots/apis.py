"""Public read endpoints of the catalog under /api/v1/. Queries come from bots.selectors and bots.filters."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.permissions import AllowAny

from bots import selectors
from bots.filters import BotCatalogFilter
from bots.serializers import BotDetailSerializer, BotListSerializer, BotReviewSerializer, CategorySerializer


@extend_schema(tags=["catalog"])
class CategoryListApi(generics.ListAPIView):
    """The categories a bot may belong to: the values `?category=` accepts on the bot list."""

    permission_classes = [AllowAny]
    serializer_class = CategorySerializer

    def get_queryset(self):
        # The catalog filter's own category choices, so the two never disagree.
        return BotCatalogFilter.base_filters["category"].queryset.all()


@extend_schema(tags=["catalog"])
class BotListApi(generics.ListAPIView):
    """Approved bots, filtered and sorted as the catalog page (bots.filters.BotCatalogFilter): `q`, `category`,
    `bot_type`, `pricing`, `price_min`, `price_max`, `exchange`, `include_retired`, `sort`. An invalid filter
    value is a 400 in the error shape."""

    permission_classes = [AllowAny]
    serializer_class = BotListSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = BotCatalogFilter

    def get_queryset(self):
        # The same annotated queryset bots.selectors.bot_catalog hands the filter on the catalog page.
        return selectors.bot_catalog_queryset()


@extend_schema(tags=["catalog"])
class BotDetailApi(generics.RetrieveAPIView):
    """One bot by slug with its version history. Pending and rejected bots are a 404 except to their developer
    and staff."""

    permission_classes = [AllowAny]
    serializer_class = BotDetailSerializer

    def get_object(self):
        bot = selectors.bot_get_for_page(slug=self.kwargs["slug"], viewer=self.request.user)
        bot.version_history = selectors.bot_versions(bot=bot)
        return bot


@extend_schema(tags=["catalog"])
class BotReviewListApi(generics.ListAPIView):
    """A bot's reviews, most recently edited first."""

    permission_classes = [AllowAny]
    serializer_class = BotReviewSerializer

    def get_queryset(self):
        bot = selectors.bot_get_for_page(slug=self.kwargs["slug"], viewer=self.request.user)
        return selectors.bot_reviews(bot=bot)
