from django.urls import path

from bots import views

app_name = "bots"

urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("<slug:slug>/", views.detail, name="detail"),
    path("<slug:slug>/review/", views.review, name="review"),
    path("<slug:slug>/backtests/new/", views.backtest_new, name="backtest_new"),
    path("<slug:slug>/backtests/<int:run_id>/", views.backtest_detail, name="backtest_detail"),
    path("<slug:slug>/backtests/<int:run_id>/status/", views.backtest_status, name="backtest_status"),
]
