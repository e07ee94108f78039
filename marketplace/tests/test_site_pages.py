"""The site's frame: the front page, navigation by role, static assets served locally, 404 and 500 pages."""

from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.urls import reverse


@pytest.mark.django_db
def test_it_sends_the_front_page_to_the_catalog(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == reverse("bots:catalog")


@pytest.mark.django_db
def test_it_shows_navigation_for_each_role(client, alice, dev, staff):
    page = client.get(reverse("bots:catalog")).content.decode()
    assert "Log in" in page and "Sign up" in page and "Dashboard" not in page
    client.force_login(alice)
    page = client.get(reverse("bots:catalog")).content.decode()
    assert all(link in page for link in ("Dashboard", "Exchange keys", "API key", "Log out"))
    assert "Developer portal" not in page and reverse("admin:index") not in page
    client.force_login(dev)
    assert "Developer portal" in client.get(reverse("bots:catalog")).content.decode()
    client.force_login(staff)
    assert reverse("admin:index") in client.get(reverse("bots:catalog")).content.decode()


@pytest.mark.django_db
def test_it_serves_its_own_404_page(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode() and "Browse the catalog" in response.content.decode()


def test_it_renders_the_500_page_without_a_request():
    page = render_to_string("500.html")
    assert "Something went wrong on our side" in page and "/static/css/site.css" in page


def test_it_ships_the_front_end_packages_for_offline_use():
    """No CDN: the pages load Chart.js and Pico CSS from static/vendor/, committed with package.json's versions."""
    for asset in ("vendor/chart.js/chart.umd.min.js", "vendor/pico/pico.min.css", "css/site.css", "js/charts.js"):
        assert finders.find(asset), asset
    versions = (Path(settings.BASE_DIR) / "static" / "vendor" / "VERSIONS.txt").read_text()
    package = (Path(settings.BASE_DIR) / "package.json").read_text()
    for name, version in (("chart.js", "4.6.1"), ("@picocss/pico", "2.1.1")):
        assert f"{name} {version}" in versions and f'"{name}": "{version}"' in package
    for template in Path(settings.BASE_DIR, "templates").rglob("*.html"):
        assert "cdn" not in template.read_text().lower(), template
