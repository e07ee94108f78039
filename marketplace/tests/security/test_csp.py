"""The Content-Security-Policy: on every page, strict enough that an injected script cannot run, the same in
production, and templates that need nothing looser (no inline script, handler, javascript: URL or style)."""

import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from marketplace.tests.pages import builtin_bot

ROOT = Path(__file__).resolve().parents[3]
TEMPLATES = ROOT / "templates"
HEADER = "Content-Security-Policy"


def policy(response) -> dict[str, list[str]]:
    """The response's policy as {directive: [sources]}."""
    assert HEADER in response, f"no {HEADER} header"
    directives = {}
    for part in response[HEADER].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def assert_strict(directives: dict[str, list[str]]) -> None:
    """Injected markup cannot run script: script-src allows our origin only (no inline, no eval, no data:, no
    wildcard), no plugins, no <base> hijack, no framing, forms post to us only."""
    assert directives["script-src"] == ["'self'"]
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] in (["'none'"], ["'self'"])
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]
    every_source = [source for sources in directives.values() for source in sources]
    assert "'unsafe-eval'" not in every_source and "*" not in every_source


@pytest.fixture
def bot(db):
    return builtin_bot("sma-crossover")


@pytest.mark.django_db
def test_it_sends_the_policy_on_every_kind_of_page(client, staff, alice, bot):
    anonymous = [
        reverse("bots:catalog"),
        reverse("bots:detail", args=[bot.slug]),
        reverse("accounts:login"),
        reverse("accounts:signup"),
        reverse("admin:login"),
        reverse("api:docs"),
        "/no-such-page/",
    ]
    for url in anonymous:
        directives = policy(client.get(url))
        assert_strict(directives)
        assert directives["style-src"] == ["'self'"], url
    client.force_login(staff)
    for url in [reverse("admin:index"), reverse("admin:bots_bot_change", args=[bot.pk])]:
        directives = policy(client.get(url))
        assert_strict(directives)
        assert directives["style-src"] == ["'self'"], url


@pytest.mark.django_db
def test_it_allows_inline_styles_on_drfs_html_pages_only_and_never_inline_scripts(client, bot):
    """DRF's browsable pages carry style attributes: only they relax style-src; their JSON twins keep the policy."""
    html = client.get("/api/v1/bots/", HTTP_ACCEPT="text/html")
    assert "text/html" in html["Content-Type"]
    directives = policy(html)
    assert_strict(directives)
    assert directives["style-src"] == ["'self'", "'unsafe-inline'"]
    as_json = client.get("/api/v1/bots/", HTTP_ACCEPT="application/json")
    assert policy(as_json)["style-src"] == ["'self'"]


@pytest.mark.django_db
def test_it_serves_the_swagger_page_script_as_a_file(client):
    page = client.get(reverse("api:docs")).content.decode()
    assert "?script=" in page or "&script=" in page
    assert not InlineCode.find(page)
    script = client.get(reverse("api:docs") + "?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


def test_production_keeps_the_same_policy_and_middleware():
    """production.py imports the base policy: it cannot differ silently (run in a fresh interpreter, since the
    production settings need their own environment)."""
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps({'csp': settings.CONTENT_SECURITY_POLICY, 'middleware': settings.MIDDLEWARE}))"
    )
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env.update(
        DJANGO_SETTINGS_MODULE="marketplace.settings.production",
        SECRET_KEY="p" * 60,
        ALLOWED_HOSTS="market.example",
        FERNET_KEYS="8NnF5J0DqzXq0kIhJ3rN2QK0wq4pGm6CzYwF2h2sX1U=",
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    production = json.loads(result.stdout.strip().splitlines()[-1])
    assert production["csp"] == json.loads(json.dumps(settings.CONTENT_SECURITY_POLICY))
    assert "csp.middleware.CSPMiddleware" in production["middleware"]


# --- Templates: nothing the policy would refuse ---------------------------------------------------------------------

INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
HANDLER = re.compile(r"<[a-zA-Z][^<>]*\son[a-z]+\s*=", re.IGNORECASE)
JS_URL = re.compile(r"""(?:href|src|action|formaction)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)
STYLE = re.compile(r"<style\b|<[a-zA-Z][^<>]*\sstyle\s*=", re.IGNORECASE)
COMMENT = re.compile(r"{% comment %}.*?{% endcomment %}|{#.*?#}", re.DOTALL)


def _without_comments(text: str) -> str:
    """Template comments blanked out, line breaks kept (so line numbers still point at the source)."""
    return COMMENT.sub(lambda match: re.sub(r"[^\n]", " ", match.group()), text)


def _templates() -> list[Path]:
    found = sorted(TEMPLATES.rglob("*.html"))
    assert len(found) > 20, "the templates folder moved?"
    return found


@pytest.mark.parametrize(
    ("pattern", "what"),
    [
        (INLINE_SCRIPT, "an inline <script> (put the code in static/js/ and pass data with json_script)"),
        (HANDLER, "an on*= handler (bind it in static/js/site.js, e.g. data-confirm)"),
        (JS_URL, "a javascript: URL"),
        (STYLE, "an inline style (put it in static/css/)"),
    ],
)
def test_no_template_has_what_the_policy_refuses(pattern, what):
    offenders = [
        f"{path.relative_to(ROOT)}:{text[: match.start()].count(chr(10)) + 1}"
        for path in _templates()
        for text in [_without_comments(path.read_text())]
        for match in pattern.finditer(text)
    ]
    assert offenders == [], f"{what}: {offenders}"


@pytest.mark.parametrize(
    "snippet",
    [
        "<script>alert(1)</script>",
        '<script type="text/javascript">x()</script>',
        '<button onclick="go()">',
        "<form method=post onsubmit='return confirm(1)'>",
        '<a href="javascript:void(0)">',
        '<span style="--w: 5%">',
        "<style>p { color: red }</style>",
    ],
)
def test_the_template_checks_catch_each_kind(snippet):
    assert any(pattern.search(snippet) for pattern in (INLINE_SCRIPT, HANDLER, JS_URL, STYLE)), snippet


@pytest.mark.parametrize(
    "snippet",
    [
        '<script src="/static/js/site.js" defer></script>',
        '<form data-confirm="Delete this key?">',
        "<p>Only on=weekends, in style=plain text.</p>",
    ],
)
def test_the_template_checks_leave_allowed_markup_alone(snippet):
    assert not any(pattern.search(snippet) for pattern in (INLINE_SCRIPT, HANDLER, JS_URL, STYLE)), snippet


# --- Rendered pages: the same, on what the browser gets ---------------------------------------------------------------


class InlineCode(HTMLParser):
    """Collects what a page has that script-src/style-src 'self' would refuse: script elements with code (JSON data
    blocks are fine), on* attributes, javascript: URLs, style attributes and <style> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    @classmethod
    def find(cls, html: str) -> list[str]:
        parser = cls()
        parser.feed(html)
        return parser.found

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "script" and "src" not in values and values.get("type") != "application/json":
            self._in_script = True
        if tag == "style":
            self.found.append("<style>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=>")
            if name == "style":
                self.found.append(f"<{tag} style=>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:>")

    def handle_endtag(self, tag):
        self._in_script = False if tag == "script" else self._in_script

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.found.append(f"<script>{data.strip()[:40]}")


@pytest.mark.django_db
def test_it_renders_pages_without_inline_code(client, alice, bot):
    from marketplace.tests.pages import paper_subscription

    subscription = paper_subscription(alice, bot)
    client.force_login(alice)
    urls = [
        reverse("bots:catalog"),
        reverse("bots:detail", args=[bot.slug]),
        reverse("bots:backtest_new", args=[bot.slug]),
        reverse("subscriptions:subscribe", args=[bot.slug]),
        reverse("subscriptions:detail", args=[subscription.pk]),
        reverse("subscriptions:edit", args=[subscription.pk]),
        reverse("subscriptions:dashboard"),
        reverse("accounts:credentials"),
        reverse("accounts:api_key"),
        reverse("accounts:profile"),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert InlineCode.find(response.content.decode()) == [], url


def test_the_page_check_catches_inline_code():
    assert InlineCode.find('<script>alert(1)</script><p onclick="x()" style="a:b">') == [
        "<script>alert(1)",
        "<p onclick=>",
        "<p style=>",
    ]
    data_and_file = '<script id="d" type="application/json">{"a": 1}</script><script src="/s.js"></script>'
    assert InlineCode.find(data_and_file) == []
