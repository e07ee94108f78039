"""Catalog pages: the list of bots with filters, and a bot's page with its backtest, its record and its reviews
(the backtests a user runs from that page are bots.views)."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from bots.backtest_runs.selectors import backtest_runs_recent
from bots.exceptions import BotError
from bots.selectors import bot_get_for_page, bot_versions
from catalog import selectors
from catalog.backtest_summary import bot_backtest
from catalog.forms import ReviewForm
from catalog.services import review_create_or_update
from catalog.track_record import MODE_LABELS, min_group, records_for_bot

PAGE_SIZE = 12
REVIEWS_SHOWN = 20


def catalog(request):
    filterset = selectors.bot_catalog(params=request.GET)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "bots/catalog.html", {"filter": filterset, "page": page})


def detail(request, slug: str):
    bot = bot_get_for_page(slug=slug, viewer=request.user)
    backtest = bot_backtest(bot)
    records = records_for_bot(bot)
    own_review = selectors.bot_review_of(bot=bot, user=request.user)
    may_review = selectors.user_may_review(bot=bot, user=request.user)
    review_form = None
    if may_review:
        initial = {"rating": own_review.rating, "text": own_review.text} if own_review else None
        review_form = ReviewForm(initial=initial)
    # The equity curves for charts.js: amounts stay strings (docs/statistics.md), the script parses them.
    curves = {"backtest": backtest.result["equity_curve"] if backtest.result else []}
    curves |= {mode: record.equity_curve for mode, record in records.items()}
    context = {
        "bot": bot,
        "versions": bot_versions(bot=bot),
        "reviews": selectors.bot_reviews(bot=bot)[:REVIEWS_SHOWN],
        "own_review": own_review,
        "may_review": may_review,
        "review_form": review_form,
        "default_config_json": json.dumps(bot.default_config or {}, indent=2, sort_keys=True),
        "backtest": backtest,
        "records": list(records.values()),
        "curves": curves,
        "mode_labels": MODE_LABELS,
        "outcomes_min_group": min_group(),
        "backtest_runs": backtest_runs_recent(user=request.user, bot=bot),
    }
    return render(request, "bots/detail.html", context)


@require_POST
@login_required
def review(request, slug: str):
    bot = bot_get_for_page(slug=slug, viewer=request.user)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(reverse("bots:detail", args=[bot.slug]) + "#reviews")
    try:
        _, created = review_create_or_update(
            bot=bot, user=request.user, rating=form.cleaned_data["rating"], text=form.cleaned_data["text"]
        )
    except BotError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Thank you: your review is published." if created else "Your review is updated.")
    return redirect(reverse("bots:detail", args=[bot.slug]) + "#reviews")
