"""/api/v1/ endpoints of the developer portal's versions (the catalog's endpoints and the developer's bots are
catalog.api_urls)."""

from django.urls import path

from bots import developer_apis

urlpatterns = [
    path(
        "developer/bots/<slug:slug>/versions/",
        developer_apis.DeveloperVersionListApi.as_view(),
        name="developer-version-list",
    ),
    path(
        "developer/bots/<slug:slug>/versions/<int:pk>/",
        developer_apis.DeveloperVersionDetailApi.as_view(),
        name="developer-version-detail",
    ),
]
