"""/bots/: the catalog and a bot's page (namespace `bots`, as before the catalog app); the backtests run from the
page are bots.urls."""

from django.urls import include, path

from catalog import views

app_name = "bots"

urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("<slug:slug>/", views.detail, name="detail"),
    path("<slug:slug>/review/", views.review, name="review"),
    path("", include("bots.urls")),
]
