"""Account pages: sign up, log in, profile, the user's API key and exchange credentials.

Views validate a form, call one service or selector, and render. Logout and the password pages are Django's own
views (see accounts/urls.py); those that change a password are subclassed here only to audit it. Login lockouts
are django-axes' (accounts.login_lockout), for this login page and the admin's alike.
"""

import copy

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts import selectors, services
from accounts.exceptions import CredentialError
from accounts.forms import CredentialForm, LoginForm, ProfileForm, SignupForm
from accounts.models import ExchangeCredential


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


@sensitive_post_parameters("password1", "password2")
@never_cache
def signup(request):
    if request.user.is_authenticated:
        return redirect("subscriptions:dashboard")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = services.user_create(
            email=form.cleaned_data["email"], password=form.cleaned_data["password1"], role=form.cleaned_data["role"]
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome! Your {user.get_role_display().lower()} account is ready.")
        return redirect(_safe_next(request, reverse("bots:catalog")))
    return render(request, "accounts/signup.html", {"form": form, "next": _safe_next(request, "")})


class EmailLoginView(auth_views.LoginView):
    """Django's login view with the email form. Locked-out attempts get axes' 429 page (accounts.login_lockout)."""

    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change (old password, new one twice), audited in the same transaction as the save."""

    def form_valid(self, form):
        with transaction.atomic():
            response = super().form_valid(form)
            services.user_password_change_record(
                user=form.user, actor=self.request.user, how="change", request=self.request
            )
        return response


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's new-password page behind the emailed reset link, audited in the same transaction as the save."""

    def form_valid(self, form):
        with transaction.atomic():
            response = super().form_valid(form)
            services.user_password_change_record(user=form.user, actor=form.user, how="reset", request=self.request)
        return response


@login_required
def profile(request):
    user = request.user
    # A copy: a ModelForm writes the submitted values onto its instance while validating, and the service must see
    # the stored ones (for the audit log), whether or not the input turns out valid.
    form = ProfileForm(request.POST or None, instance=copy.copy(user)) if user.is_developer else None
    if request.method == "POST":
        if form is None:
            messages.error(request, "Only developers have a public profile to edit.")
            return redirect("accounts:profile")
        if form.is_valid():
            services.user_profile_update(user=user, request=request, **form.cleaned_data)
            messages.success(request, "Profile saved.")
            return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form})


@never_cache
@login_required
def api_key(request):
    """GET: whether the user has a key. POST: make a new one and show it once, in this response only."""
    if request.method == "POST":
        clear_key = services.user_api_key_create(user=request.user, request=request)
        messages.success(request, "Your new API key is below. Copy it now: it will not be shown again.")
        response = render(request, "accounts/api_key.html", {"clear_key": clear_key})
        # never_cache already forbids caching; say it for every proxy on the way too.
        response["Cache-Control"] = "no-store"
        return response
    return render(request, "accounts/api_key.html", {"clear_key": None})


@require_POST
@login_required
def api_key_revoke(request):
    if request.user.api_key:
        services.user_api_key_revoke(user=request.user, request=request)
        messages.success(request, "Your API key is revoked: programs using it are refused from now on.")
    else:
        messages.info(request, "You had no API key to revoke.")
    return redirect("accounts:api_key")


@sensitive_post_parameters("api_key", "api_secret", "passphrase")
@never_cache
@login_required
def credentials(request):
    """List the user's exchange keys (masked) and add one."""
    form = CredentialForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            credential = services.credential_create(
                user=request.user,
                exchange=data["exchange"],
                api_key=data["api_key"],
                api_secret=data["api_secret"],
                passphrase=data["passphrase"] or None,
                is_testnet=data["network"] == "testnet",
                request=request,
            )
        except CredentialError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Saved your {credential}. Its secret is stored encrypted and never shown again.")
            return redirect("accounts:credentials")
    context = {
        "form": form,
        "credentials": selectors.credential_list(user=request.user),
        "Status": ExchangeCredential.ValidationStatus,
    }
    return render(request, "accounts/credentials.html", context)


@require_POST
@login_required
def credential_delete(request, pk: int):
    credential = selectors.credential_get(user=request.user, pk=pk)
    label = str(credential)
    services.credential_delete(credential=credential, actor=request.user, request=request)
    messages.success(request, f"Deleted your {label}. Subscriptions that used it stop at their next run.")
    return redirect("accounts:credentials")
