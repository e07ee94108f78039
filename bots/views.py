"""The backtests a user runs from a bot's page: a form, then a page with a progress bar that polls a JSON status.
They sit under the bot's page (/bots/<slug>/backtests/...); the page itself is catalog.views."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from bots.backtest_runs.exceptions import BacktestRunInvalid, BacktestRunLimit
from bots.backtest_runs.markets import backtest_markets
from bots.backtest_runs.selectors import backtest_run_get, backtest_run_status
from bots.backtest_runs.services import backtest_run_create
from bots.forms import BacktestRunForm
from bots.selectors import bot_get_for_page


@login_required
def backtest_new(request, slug: str):
    bot = bot_get_for_page(slug=slug, viewer=request.user)
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
