"""The developer portal: a new bot, a new version, a version's validation report (the dashboard of my bots, with
their subscribers and revenue, is catalog.developer_views).

Only developer accounts (and staff) may enter: a trader gets 403, an anonymous visitor the login page. A bot or
version of another developer is a 404, as if it did not exist.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render

from bots import selectors
from bots.developer_forms import BotCreateForm, VersionForm
from bots.exceptions import BotError
from bots.services import bot_create, bot_version_upload


def developer_required(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_developer:
            raise PermissionDenied("The developer portal is for developer accounts.")
        return view(request, *args, **kwargs)

    return wrapper


@developer_required
def bot_new(request):
    form = BotCreateForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            bot = bot_create(
                developer=request.user,
                name=data["name"],
                description=data["description"],
                category=data["category"],
                bot_type=data["bot_type"],
                price_per_month=data["price_per_month"],
                trial_days=data["trial_days"],
                version=data["version"],
                code_file=data["code_file"],
                model_file=data["model_file"],
                config_schema=data["config_schema"],
                default_config=data["default_config"],
            )
        except BotError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"“{bot.name}” is uploaded: validation runs now, then staff review it.")
            return redirect("developer:dashboard")
    # 400 for a refused form, so a script (and the security tests) can tell a refusal from a page.
    return render(request, "developer/bot_form.html", {"form": form}, status=400 if form.errors else 200)


@developer_required
def version_new(request, slug: str):
    bot = selectors.developer_bot_get(slug=slug, developer=request.user)
    newest = selectors.bot_versions(bot=bot).first()
    initial = {"config_schema": newest.config_schema, "default_config": newest.default_config} if newest else None
    form = VersionForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            version = bot_version_upload(
                bot=bot,
                developer=request.user,
                version=data["version"],
                code_file=data["code_file"],
                model_file=data["model_file"],
                config_schema=data["config_schema"],
                default_config=data["default_config"],
                changelog=data["changelog"],
            )
        except BotError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"Version {version.version} is uploaded: validation runs now.")
            return redirect("developer:version", version_id=version.pk)
    context = {"form": form, "bot": bot, "newest": newest}
    return render(request, "developer/version_form.html", context, status=400 if form.errors else 200)


@developer_required
def version_report(request, version_id: int):
    version = selectors.developer_version_get(version_id=version_id, developer=request.user)
    return render(
        request,
        "developer/version_report.html",
        {"version": version, "bot": version.bot, "report": version.validation_report or {}},
    )
