"""/api/v1/ endpoints of the storefront: categories, bots, reviews, and the developer's bots with their figures."""

from django.urls import path

from catalog import apis, developer_apis

urlpatterns = [
    path("categories/", apis.CategoryListApi.as_view(), name="category-list"),
    path("bots/", apis.BotListApi.as_view(), name="bot-list"),
    path("bots/<slug:slug>/", apis.BotDetailApi.as_view(), name="bot-detail"),
    path("bots/<slug:slug>/reviews/", apis.BotReviewListApi.as_view(), name="bot-review-list"),
    path("reviews/", apis.OwnReviewListApi.as_view(), name="review-list"),
    path("developer/bots/", developer_apis.DeveloperBotListApi.as_view(), name="developer-bot-list"),
    path("developer/bots/<slug:slug>/", developer_apis.DeveloperBotDetailApi.as_view(), name="developer-bot-detail"),
]
