"""Staff pages for operators, under /staff/ (staff accounts only)."""

from django.urls import path  # noqa: F401

app_name = "operations"

urlpatterns: list = []
