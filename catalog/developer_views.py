"""The developer portal's dashboard: the developer's bots with their subscribers and revenue. Those figures count
subscriptions, so the page lives here; the rest of the portal (uploads, validation reports) is bots.developer_views."""

from django.shortcuts import render

from bots.developer_views import developer_required
from catalog.selectors import developer_bots


@developer_required
def dashboard(request):
    bots = developer_bots(developer=request.user)
    return render(request, "developer/dashboard.html", {"bots": bots})
