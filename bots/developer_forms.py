"""Forms of the developer portal: a new bot with its first version, and a new version of a bot."""

import json

from django import forms

from bots.exceptions import BotConfigInvalid, BotError, UploadRejected
from bots.models import Bot, BotCategory
from bots.uploads import CODE_MAX_BYTES, MODEL_EXTENSIONS, MODEL_MAX_BYTES
from common.json_text import json_object_parse

SCHEMA_EXAMPLE = json.dumps(
    {
        "type": "object",
        "properties": {"fast": {"type": "integer", "minimum": 2, "default": 10}},
        "additionalProperties": False,
    },
    indent=2,
)


class JSONObjectField(forms.CharField):
    """A JSON object typed into a textarea; the error names the line and column of a syntax error."""

    widget = forms.Textarea(attrs={"rows": 10, "spellcheck": "false", "class": "code"})

    def to_python(self, value):
        try:
            return json_object_parse(super().to_python(value) or "")
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None

    def prepare_value(self, value):
        return json.dumps(value, indent=2) if isinstance(value, dict) else value


class VersionForm(forms.Form):
    version = forms.CharField(max_length=50, initial="1.0.0", help_text="Like 1.2.0; each version of a bot is unique.")
    changelog = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What changed, for the reviewers and your subscribers.",
    )
    code_file = forms.FileField(
        label="Code",
        help_text=f"A .py file, or a .zip package with bot.py at its root; at most {CODE_MAX_BYTES // 2**20} MB.",
    )
    model_file = forms.FileField(
        label="Model (optional)",
        required=False,
        help_text=f"At most {MODEL_MAX_BYTES // 2**20} MB; one of: {', '.join(sorted(MODEL_EXTENSIONS))}.",
    )
    config_schema = JSONObjectField(
        label="Config schema",
        help_text="The JSON Schema your bot class declares as config_schema; every setting needs a default.",
        initial=SCHEMA_EXAMPLE,
    )
    default_config = JSONObjectField(
        label="Default config", required=False, initial="{}", help_text="Settings left out take the schema's defaults."
    )

    def add_service_error(self, error: BotError) -> None:
        """Show a service's refusal next to the field it is about."""
        if isinstance(error, BotConfigInvalid):
            for where, items in error.errors.items():
                for item in items:
                    self.add_error(where, f"{item['field'] or 'the whole config'}: {item['message']}")
        elif isinstance(error, UploadRejected):
            self.add_error(error.field if error.field in self.fields else None, str(error))
        else:
            self.add_error(None, str(error))


class BotCreateForm(VersionForm):
    FREE, MONTHLY = "free", "monthly"

    name = forms.CharField(max_length=255)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}))
    category = forms.ModelChoiceField(queryset=BotCategory.objects.all(), required=False)
    bot_type = forms.ChoiceField(
        label="Type",
        choices=Bot.Type.choices,
        initial=Bot.Type.TECHNICAL,
        help_text="LLM bots cannot pass validation yet: there is no model service.",
    )
    pricing = forms.ChoiceField(
        choices=[(FREE, "Free"), (MONTHLY, "Monthly price")], initial=FREE, widget=forms.RadioSelect
    )
    price_per_month = forms.DecimalField(
        label="Price per month (USD)", required=False, min_value=0, max_digits=10, decimal_places=2
    )
    trial_days = forms.IntegerField(
        min_value=0,
        max_value=90,
        initial=0,
        required=False,
        help_text="Free days before a paid subscription starts; 0 for none.",
    )

    field_order = [
        "name",
        "description",
        "category",
        "bot_type",
        "pricing",
        "price_per_month",
        "trial_days",
        "version",
        "code_file",
        "model_file",
        "config_schema",
        "default_config",
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["changelog"]

    def clean(self):
        data = super().clean()
        if data.get("pricing") == self.MONTHLY:
            if not data.get("price_per_month"):
                self.add_error("price_per_month", "Give the monthly price, or choose Free.")
        else:
            data["price_per_month"] = 0
            data["trial_days"] = 0
        data["trial_days"] = data.get("trial_days") or 0
        return data
