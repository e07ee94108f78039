from django.urls import path

from accounts import apis

urlpatterns = [
    path("me/", apis.MeApi.as_view(), name="me"),
    path("credentials/", apis.CredentialListApi.as_view(), name="credential-list"),
    path("credentials/<int:pk>/", apis.CredentialDetailApi.as_view(), name="credential-detail"),
]
