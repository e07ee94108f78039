from django.urls import path

from bots import views

app_name = "bots"

urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("<slug:slug>/", views.detail, name="detail"),
    path("<slug:slug>/review/", views.review, name="review"),
]
