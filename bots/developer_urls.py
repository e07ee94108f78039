"""The developer portal's uploads and reports, in the `developer` namespace of catalog.developer_urls (which adds
the dashboard)."""

from django.urls import path

from bots import developer_views as views

urlpatterns = [
    path("bots/new/", views.bot_new, name="bot_new"),
    path("bots/<slug:slug>/versions/new/", views.version_new, name="version_new"),
    path("versions/<int:version_id>/", views.version_report, name="version"),
]
