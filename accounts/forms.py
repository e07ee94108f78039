"""Forms of the accounts pages. They validate input; writes go through accounts.services."""

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from accounts.models import Exchange, User
from accounts.networks import testnet_exchanges
from accounts.services import PASSPHRASE_EXCHANGES
from accounts.validators import person_email_validate

ROLE_CHOICES = [
    (User.Role.USER, "Trader: I want to run bots on my exchange account"),
    (User.Role.DEVELOPER, "Developer: I want to publish bots"),
]


class SignupForm(forms.Form):
    email = forms.EmailField(max_length=255, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    role = forms.ChoiceField(label="I am a", choices=ROLE_CHOICES, initial=User.Role.USER, widget=forms.RadioSelect)

    def clean_email(self) -> str:
        email = person_email_validate(self.cleaned_data["email"].strip().lower())
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError("An account with this email exists already. Log in, or reset its password.")
        return email

    def clean(self):
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", "The two passwords differ.")
        elif password1:
            # Checked against an unsaved user, so "too similar to your email" works before the account exists.
            candidate = User(email=cleaned.get("email") or "")
            try:
                password_validation.validate_password(password1, candidate)
            except ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class LoginForm(AuthenticationForm):
    """Django's login form (email + password). Lockouts are not the form's business: axes' backend refuses a
    locked-out attempt inside authenticate(), for this form and the admin's alike (accounts.login_lockout)."""

    error_messages = {**AuthenticationForm.error_messages, "invalid_login": "Wrong email or password."}


class ProfileForm(forms.ModelForm):
    """What a user may change about themselves: the public developer fields (developers only)."""

    class Meta:
        model = User
        fields = ["developer_name", "developer_bio", "developer_website"]
        labels = {"developer_name": "Public name", "developer_bio": "About you", "developer_website": "Website"}
        help_texts = {
            "developer_name": "Shown on your bots in the catalog.",
            "developer_bio": "A few lines traders read on your bots' pages.",
        }
        widgets = {"developer_bio": forms.Textarea(attrs={"rows": 4})}


class CredentialForm(forms.Form):
    """A new exchange API key. Secrets are never rendered back into the page, not even after an error."""

    exchange = forms.ChoiceField(choices=Exchange.choices)
    network = forms.ChoiceField(
        choices=[("testnet", "Testnet (practice money)"), ("mainnet", "Mainnet (real money)")],
        initial="testnet",
        widget=forms.RadioSelect,
    )

    api_key = forms.CharField(
        label="API key",
        max_length=512,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    api_secret = forms.CharField(
        label="API secret",
        max_length=512,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    passphrase = forms.CharField(
        label="Passphrase",
        required=False,
        max_length=512,
        help_text="Only for exchanges that issue one with the key: "
        + ", ".join(sorted(Exchange(e).label for e in PASSPHRASE_EXCHANGES))
        + ".",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Read from ccxt (accounts.networks), not written here: credential_create refuses the other testnets.
        labels = ", ".join(Exchange(code).label for code in testnet_exchanges())
        self.fields["network"].help_text = f"Only {labels} have a testnet."
