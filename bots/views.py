"""Catalog pages: the list of bots with filters, a bot's page with its record, reviews, and the backtests a user
runs from it (a form, then a page with a progress bar that polls a JSON status)."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from bots import selectors
from bots.backtest_summary import bot_backtest
from bots.backtests.exceptions import BacktestRunInvalid, BacktestRunLimit
from bots.backtests.markets import backtest_markets
from bots.backtests.selectors import backtest_run_get, backtest_run_status, backtest_runs_recent
from bots.backtests.services import backtest_run_create
from bots.exceptions import BotError
from bots.forms import BacktestRunForm, ReviewForm
from bots.services import review_create_or_update
from bots.track_record import MODE_LABELS, min_group, records_for_bot

PAGE_SIZE = 12
REVIEWS_SHOWN = 20


def catalog(request):
    filterset = selectors.bot_catalog(params=request.GET)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "bots/catalog.html", {"filter": filterset, "page": page})


def detail(request, slug: str):
    bot = selectors.bot_get_for_page(slug=slug, viewer=request.user)
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
        "versions": selectors.bot_versions(bot=bot),
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
    bot = selectors.bot_get_for_page(slug=slug, viewer=request.user)
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


@login_required
def backtest_new(request, slug: str):
    bot = selectors.bot_get_for_page(slug=slug, viewer=request.user)
    form = BacktestRunForm(request.POST or None, bot=bot, markets=backtest_markets())
    if request.method == "POST" and form.is_valid():
        try:
            run = backtest_run_create(user=request.user, bot=bot, **form.service_arguments())
        except BacktestRunInvalid as error:
            form.add_service_errors(error.errors)
        except BacktestRunLimit as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Your backtest is queued: this page follows it until it is done.")
            return redirect("bots:backtest_detail", slug=bot.slug, run_id=run.pk)
    status = 400 if form.errors else 200
    return render(request, "bots/backtest_new.html", {"bot": bot, "form": form}, status=status)


@login_required
def backtest_detail(request, slug: str, run_id: int):
    run = backtest_run_get(user=request.user, bot_slug=slug, pk=run_id)
    result = run.result or {}
    context = {
        "bot": run.bot,
        "run": run,
        "stats": result.get("stats"),
        "trades": result.get("trades", []),
        "curves": {"backtest-run": result.get("equity_curve", [])},
    }
    return render(request, "bots/backtest_detail.html", context)


@require_GET
@login_required
def backtest_status(request, slug: str, run_id: int):
    run = backtest_run_get(user=request.user, bot_slug=slug, pk=run_id)
    return JsonResponse(backtest_run_status(run))
