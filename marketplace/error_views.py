"""Django's 404 and 500 handlers: the API's JSON error shape under /api/, the site's pages everywhere else.

DRF answers the errors raised inside its views; these cover what never reaches one: a URL no pattern matches
(`/api/v1/subscriptions/abc/`) and a crash outside a view.
"""

from django.http import JsonResponse
from django.views import defaults

from common.api.exceptions import error_body


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception):
    if _is_api(request):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return JsonResponse(error_body("error", "Something went wrong on our side; it has been logged."), status=500)
    return defaults.server_error(request)
