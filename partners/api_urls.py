"""The partner marketplace API: registrations of approved bots and the principals they serve (docs/partner-api.md)."""

from django.urls import path

from partners import apis

principal = "principals/<str:principal>/"
subscription = principal + "subscriptions/<int:pk>/"

urlpatterns = [
    path("registrations/", apis.RegistrationListApi.as_view(), name="marketplace-registration-list"),
    path("registrations/<int:pk>/", apis.RegistrationDetailApi.as_view(), name="marketplace-registration-detail"),
    path(
        "registrations/<int:pk>/deactivate/",
        apis.RegistrationDeactivateApi.as_view(),
        name="marketplace-registration-deactivate",
    ),
    path(principal + "credentials/", apis.PrincipalCredentialListApi.as_view(), name="marketplace-credential-list"),
    path(
        principal + "credentials/<str:exchange>/<str:network>/",
        apis.PrincipalCredentialApi.as_view(),
        name="marketplace-credential",
    ),
    path(
        principal + "subscriptions/",
        apis.PrincipalSubscriptionListApi.as_view(),
        name="marketplace-subscription-list",
    ),
    path(subscription, apis.PrincipalSubscriptionDetailApi.as_view(), name="marketplace-subscription-detail"),
    path(subscription + "pause/", apis.PrincipalSubscriptionPauseApi.as_view(), name="marketplace-subscription-pause"),
    path(
        subscription + "resume/", apis.PrincipalSubscriptionResumeApi.as_view(), name="marketplace-subscription-resume"
    ),
    path(
        subscription + "cancel/", apis.PrincipalSubscriptionCancelApi.as_view(), name="marketplace-subscription-cancel"
    ),
    path(
        subscription + "trades/", apis.PrincipalSubscriptionTradesApi.as_view(), name="marketplace-subscription-trades"
    ),
    path(
        subscription + "performance/",
        apis.PrincipalSubscriptionPerformanceApi.as_view(),
        name="marketplace-subscription-performance",
    ),
]
