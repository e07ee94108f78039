"""The API's renderers: JSON, and DRF's browsable HTML pages under the site's Content-Security-Policy."""

from collections.abc import Mapping
from typing import Any

from csp.constants import UNSAFE_INLINE
from rest_framework import renderers


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    """DRF's HTML pages (an API URL opened in a browser), allowed inline styles and nothing else.

    DRF's templates carry a <style> block (code highlighting) and style= attributes, which the site's policy
    (style-src 'self') refuses. Only these responses add 'unsafe-inline' to style-src; script-src stays 'self', so
    an injected script still does not run here, and the data DRF prints is escaped by its templates.
    """

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Mapping[str, Any] | None = None
    ) -> str:
        response = (renderer_context or {}).get("response")
        if response is not None:
            # django-csp's CSPMiddleware reads this attribute (what its @csp_update decorator sets): the response
            # is rendered before the middleware writes the header.
            response._csp_update = {"style-src": [UNSAFE_INLINE]}
        return super().render(data, accepted_media_type, renderer_context)
