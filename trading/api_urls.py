from django.urls import path

from trading import apis

urlpatterns = [
    path("trades/", apis.TradeListApi.as_view(), name="trade-list"),
    path("performance-logs/", apis.PerformanceLogListApi.as_view(), name="performance-log-list"),
    path("credentials/<int:pk>/validate/", apis.CredentialValidateApi.as_view(), name="credential-validate"),
]
