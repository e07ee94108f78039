"""URLs that match no pattern: the API answers in its error shape, the site with its page."""

import pytest


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/subscriptions/abc/", "/api/v1/bots/%3F%C2%86/", "/api/v9/"])
def test_it_answers_an_unknown_api_url_in_the_error_shape(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}


@pytest.mark.django_db
def test_it_keeps_the_html_page_for_the_site(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
