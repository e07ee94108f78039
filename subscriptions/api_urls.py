from django.urls import path

from subscriptions import apis

urlpatterns = [
    path("subscriptions/", apis.SubscriptionListApi.as_view(), name="subscription-list"),
    path("subscriptions/<int:pk>/", apis.SubscriptionDetailApi.as_view(), name="subscription-detail"),
    path("subscriptions/<int:pk>/pause/", apis.SubscriptionPauseApi.as_view(), name="subscription-pause"),
    path("subscriptions/<int:pk>/resume/", apis.SubscriptionResumeApi.as_view(), name="subscription-resume"),
    path("subscriptions/<int:pk>/cancel/", apis.SubscriptionCancelApi.as_view(), name="subscription-cancel"),
]
