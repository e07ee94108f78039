from django.urls import path

from bots import apis

urlpatterns = [
    path("categories/", apis.CategoryListApi.as_view(), name="category-list"),
    path("bots/", apis.BotListApi.as_view(), name="bot-list"),
    path("bots/<slug:slug>/", apis.BotDetailApi.as_view(), name="bot-detail"),
    path("bots/<slug:slug>/reviews/", apis.BotReviewListApi.as_view(), name="bot-review-list"),
]
