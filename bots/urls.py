"""The backtests run from a bot's page, in the `bots` namespace of catalog.urls (which adds the pages themselves)."""

from django.urls import path

from bots import views

urlpatterns = [
    path("<slug:slug>/backtests/new/", views.backtest_new, name="backtest_new"),
    path("<slug:slug>/backtests/<int:run_id>/", views.backtest_detail, name="backtest_detail"),
    path("<slug:slug>/backtests/<int:run_id>/status/", views.backtest_status, name="backtest_status"),
]
