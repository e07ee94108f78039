"""/developer/: the developer portal. Its dashboard is catalog.developer_views; uploads and reports are bots'."""

from django.urls import include, path

from catalog import developer_views

app_name = "developer"

urlpatterns = [
    path("", developer_views.dashboard, name="dashboard"),
    path("", include("bots.developer_urls")),
]
