from django.urls import path

from bots import developer_views as views

app_name = "developer"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("bots/new/", views.bot_new, name="bot_new"),
    path("bots/<slug:slug>/versions/new/", views.version_new, name="version_new"),
    path("versions/<int:version_id>/", views.version_report, name="version"),
]
