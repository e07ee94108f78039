"""Query parameters of the trader's trade and decision-log lists. Times are ISO 8601; one without an offset is
read as UTC (the site's time zone). Bounds: `..._after` is inclusive, `..._before` exclusive."""

from datetime import UTC

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from subscriptions.models import Action, PerformanceLog, Side, Trade, TradeStatus

# The largest id a database column holds (BIGINT): a larger one is a 400, not a driver's overflow.
ID_MAX = 2**63 - 1


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    """A row id: a whole number from 1 to ID_MAX."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=1, max_value=ID_MAX, **kwargs)


class UtcDateTimeField(IsoDateTimeField):
    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            # The database compares in UTC: a time whose UTC falls outside years 1-9999 cannot be sent at all.
            return moment.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError("Give a time between the years 1 and 9999.") from None


class TimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class TradeFilter(django_filters.FilterSet):
    subscription = IdFilter(field_name="subscription_id", help_text="A subscription's id.")
    status = django_filters.ChoiceFilter(choices=TradeStatus.choices)
    side = django_filters.ChoiceFilter(choices=Side.choices)
    opened_after = TimeFilter(field_name="entry_time", lookup_expr="gte")
    opened_before = TimeFilter(field_name="entry_time", lookup_expr="lt")
    closed_after = TimeFilter(field_name="exit_time", lookup_expr="gte")
    closed_before = TimeFilter(field_name="exit_time", lookup_expr="lt")

    class Meta:
        model = Trade
        fields = ["subscription", "status", "side"]


class PerformanceLogFilter(django_filters.FilterSet):
    subscription = IdFilter(field_name="subscription_id", help_text="A subscription's id.")
    action = django_filters.ChoiceFilter(choices=Action.choices)
    after = TimeFilter(field_name="timestamp", lookup_expr="gte")
    before = TimeFilter(field_name="timestamp", lookup_expr="lt")

    class Meta:
        model = PerformanceLog
        fields = ["subscription", "action"]
