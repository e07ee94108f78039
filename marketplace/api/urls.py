"""/api/: version 1 of the REST API, its OpenAPI schema and the interactive docs (served from local static files)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

v1 = [
    path("", include("accounts.api_urls")),
    path("", include("bots.api_urls")),
    path("", include("subscriptions.api_urls")),
    path("", include("trading.api_urls")),
    path("marketplace/", include("partners.api_urls")),
]

app_name = "api"
urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]
