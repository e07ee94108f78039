"""The trader's pages: the dashboard, subscribing, a subscription's page, its settings, pause/resume/cancel.

Every page is for its owner only: the selectors scope by user, so another user's subscription is a 404.
"""

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from bots.models import Bot
from bots.selectors import bot_get_for_page
from subscriptions import selectors, services
from subscriptions.exceptions import SubscriptionError, SubscriptionInvalid
from subscriptions.forms import EditConfigForm, SubscribeForm
from subscriptions.markets import market_catalog, market_choices

DECISIONS_PER_PAGE = 25
CLOSED_TRADES_PER_PAGE = 25


@login_required
def dashboard(request):
    now = timezone.now()
    subscriptions = list(selectors.subscription_list_with_marks(user=request.user))
    for subscription in subscriptions:
        subscription.floating = sum(
            (selectors.floating_pnl(trade, subscription.mark_price) for trade in subscription.open_trades), Decimal(0)
        )
        subscription.late = selectors.is_late(subscription, now=now)
    return render(request, "subscriptions/dashboard.html", {"subscriptions": subscriptions})


@login_required
def subscribe(request, slug: str):
    bot = bot_get_for_page(slug=slug, viewer=request.user)
    if bot.status != Bot.Status.APPROVED:
        messages.error(request, f"“{bot.name}” is not open for subscriptions.")
        return redirect("bots:detail", slug=bot.slug)
    markets = market_choices()
    form = SubscribeForm(request.POST or None, bot=bot, markets=markets)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            subscription = services.subscription_create(
                user=request.user,
                bot=bot,
                mode=data["mode"],
                exchange_type=data["exchange_type"],
                trading_pair=data["trading_pair"],
                timeframe=data["timeframe"],
                instance_name=data["instance_name"],
                mainnet_confirmed=data["mainnet_confirmed"],
                trial=data.get("trial", False),
                request=request,
                **form.configs(),
            )
        except SubscriptionInvalid as error:
            form.add_service_errors(error.errors)
        else:
            messages.success(
                request,
                f"Subscribed: “{subscription.instance_name}” runs from the next closed "
                f"{subscription.timeframe} candle.",
            )
            return redirect("subscriptions:detail", pk=subscription.pk)
    context = {
        "bot": bot,
        "form": form,
        "markets": market_catalog(markets),
        "credential_keys": selectors.credential_summary(user=request.user),
    }
    return render(request, "subscriptions/subscribe.html", context, status=400 if form.errors else 200)


@login_required
def detail(request, pk: int):
    subscription = selectors.subscription_get(user=request.user, pk=pk)
    open_trades, closed_trades = selectors.subscription_trades(subscription=subscription)
    mark_price, marked_at = selectors.subscription_mark(subscription=subscription)
    for trade in open_trades:
        trade.floating = selectors.floating_pnl(trade, mark_price)
    context = {
        "subscription": subscription,
        "open_trades": open_trades,
        "closed_page": Paginator(closed_trades, CLOSED_TRADES_PER_PAGE).get_page(request.GET.get("trades")),
        "decisions_page": Paginator(
            selectors.subscription_decisions(subscription=subscription), DECISIONS_PER_PAGE
        ).get_page(request.GET.get("page")),
        "mark_price": mark_price,
        "marked_at": marked_at,
        "equity_points": selectors.subscription_equity_points(
            subscription=subscription, open_trades=open_trades, mark_price=mark_price, marked_at=marked_at
        ),
        "late": selectors.is_late(subscription),
    }
    return render(request, "subscriptions/detail.html", context)


@login_required
def edit(request, pk: int):
    subscription = selectors.subscription_get(user=request.user, pk=pk)
    values = {
        "strategy_config": subscription.strategy_config,
        "execution_config": subscription.execution_config,
        "risk_config": subscription.risk_config,
    }
    form = EditConfigForm(
        request.POST or None, bot=subscription.bot, values=values, initial={"instance_name": subscription.instance_name}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.subscription_update_config(
                subscription=subscription,
                actor=request.user,
                instance_name=form.cleaned_data["instance_name"],
                request=request,
                **form.configs(),
            )
        except SubscriptionInvalid as error:
            form.add_service_errors(error.errors)
        else:
            messages.success(request, "Settings saved: the next run uses them.")
            return redirect("subscriptions:detail", pk=subscription.pk)
    context = {"subscription": subscription, "form": form}
    return render(request, "subscriptions/edit.html", context, status=400 if form.errors else 200)


def _status_change(request, pk: int, service, done: str):
    subscription = selectors.subscription_get(user=request.user, pk=pk)
    try:
        service(subscription=subscription, actor=request.user, request=request)
    except SubscriptionError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"“{subscription.instance_name}” is {done}.")
    # The buttons live on the dashboard and on the subscription's page: go back where the click came from.
    if request.POST.get("back") == "dashboard":
        return redirect("subscriptions:dashboard")
    return redirect("subscriptions:detail", pk=pk)


@require_POST
@login_required
def pause(request, pk: int):
    return _status_change(request, pk, services.subscription_pause, "paused")


@require_POST
@login_required
def resume(request, pk: int):
    return _status_change(request, pk, services.subscription_resume, "running again from the next closed candle")


@require_POST
@login_required
def cancel(request, pk: int):
    return _status_change(request, pk, services.subscription_cancel, "cancelled; its record stays on this page")
