"""The catalog's filter form (django-filter). Used only through `catalog.selectors.bot_catalog`, which supplies the
annotated queryset the `sort` choices rely on (`return_30d`, `active_subscribers`)."""

import django_filters
from django import forms
from django.db.models import Exists, F, OuterRef, Q

from accounts.models import Exchange
from bots.models import Bot, BotCategory
from subscriptions.models import Subscription

SORTS = {
    "rating": ("Best rated", [F("average_rating").desc(), F("total_reviews").desc()]),
    "subscribers": ("Most subscribers", [F("active_subscribers").desc()]),
    "newest": ("Newest", [F("approved_at").desc(nulls_last=True), F("created_at").desc()]),
    "return": ("Best 30-day return", [F("return_30d").desc(nulls_last=True)]),
    "price": ("Price: low to high", [F("price_per_month").asc()]),
    "-price": ("Price: high to low", [F("price_per_month").desc()]),
}
DEFAULT_SORT = "rating"


class BotCatalogFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label="Search",
        method="filter_search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name or description"}),
    )
    category = django_filters.ModelChoiceFilter(
        queryset=BotCategory.objects.order_by("name"), to_field_name="slug", empty_label="Any category"
    )
    bot_type = django_filters.ChoiceFilter(label="Type", choices=Bot.Type.choices, empty_label="Any type")
    pricing = django_filters.ChoiceFilter(
        label="Price",
        choices=[("free", "Free"), ("paid", "Paid")],
        method="filter_pricing",
        empty_label="Free and paid",
    )
    price_min = django_filters.NumberFilter(
        label="Min. price / month", field_name="price_per_month", lookup_expr="gte", min_value=0
    )
    price_max = django_filters.NumberFilter(
        label="Max. price / month", field_name="price_per_month", lookup_expr="lte", min_value=0
    )
    exchange = django_filters.ChoiceFilter(
        label="Traded on",
        choices=Exchange.choices,
        method="filter_exchange",
        empty_label="Any exchange",
        help_text="Bots run on every supported exchange; this shows those with subscriptions on it.",
    )
    include_retired = django_filters.BooleanFilter(
        label="Include retired bots", method="filter_nothing", widget=forms.CheckboxInput
    )
    sort = django_filters.ChoiceFilter(
        label="Sort by",
        choices=[(key, label) for key, (label, _) in SORTS.items()],
        method="filter_nothing",
        empty_label=None,
    )

    class Meta:
        model = Bot
        fields: list[str] = []

    def filter_search(self, queryset, name, value):
        words = value.split()[:8]
        for word in words:
            queryset = queryset.filter(Q(name__icontains=word) | Q(description__icontains=word))
        return queryset

    def filter_pricing(self, queryset, name, value):
        return queryset.filter(price_per_month=0) if value == "free" else queryset.filter(price_per_month__gt=0)

    def filter_exchange(self, queryset, name, value):
        return queryset.filter(Exists(Subscription.objects.filter(bot=OuterRef("pk"), exchange_type=value)))

    def filter_nothing(self, queryset, name, value):
        # Applied in filter_queryset: they change the base set and the order, not a condition.
        return queryset

    def filter_queryset(self, queryset):
        cleaned = self.form.cleaned_data
        if not cleaned.get("include_retired"):
            queryset = queryset.filter(status=Bot.Status.APPROVED)
        queryset = super().filter_queryset(queryset)
        _, ordering = SORTS.get(cleaned.get("sort") or DEFAULT_SORT, SORTS[DEFAULT_SORT])
        # The primary key last: a stable order, so a page never repeats or skips a bot.
        return queryset.order_by(*ordering, "name", "pk")
