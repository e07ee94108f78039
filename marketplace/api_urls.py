"""/api/: version 1 of the REST API, its OpenAPI schema and the interactive docs (served from local static files)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

v1 = [
    path("", include("accounts.api_urls")),
    path("", include("bots.api_urls")),
    path("", include("catalog.api_urls")),
    path("", include("subscriptions.api_urls")),
    path("", include("trading.api_urls")),
    path("marketplace/", include("partners.api_urls")),
]

app_name = "api"
urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves the page's script as a file (docs/?script), so the Content-Security-Policy's
    # script-src 'self' holds on this page too; the template drops the inline <style> for a static file.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api:schema", template_name="api/swagger_ui.html"),
        name="docs",
    ),
]
