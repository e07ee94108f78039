"""The review form on a bot's page (the catalog's filter form is catalog.filters.BotCatalogFilter)."""

from django import forms

from catalog.services import REVIEW_TEXT_MAX

STARS = [(5, "★★★★★ 5"), (4, "★★★★ 4"), (3, "★★★ 3"), (2, "★★ 2"), (1, "★ 1")]


class ReviewForm(forms.Form):
    rating = forms.TypedChoiceField(label="Your rating", choices=STARS, coerce=int, widget=forms.RadioSelect)
    text = forms.CharField(
        label="Your review",
        required=False,
        max_length=REVIEW_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What did the bot do for you? Other traders read this.",
    )
