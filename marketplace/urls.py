from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

admin.site.site_header = "Bot Marketplace staff"
admin.site.site_title = "Bot Marketplace staff"
admin.site.index_title = "Moderation and operations"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]
