from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "Bot Marketplace staff"
admin.site.site_title = "Bot Marketplace staff"
admin.site.index_title = "Moderation and operations"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("bots/", include("catalog.urls")),
    path("developer/", include("catalog.developer_urls")),
    path("subscriptions/", include("subscriptions.urls")),
    path("api/", include("marketplace.api_urls")),
    path("staff/", include("operations.urls")),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin's): the site's icon, not a 404.
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    # The catalog is the front page.
    path("", RedirectView.as_view(pattern_name="bots:catalog", permanent=False), name="home"),
]

handler404 = "marketplace.error_views.not_found"
handler500 = "marketplace.error_views.server_error"
