"""The address a request came from, as login lockouts and the audit log see it.

Behind `settings.TRUSTED_PROXY_COUNT` reverse proxies of ours, each appending the address it was reached from to
X-Forwarded-For, the client is the entry the outermost of them wrote: the N-th from the right. Anything further left
was sent by the client and may be forged. With no trusted proxy (the default) the header is ignored and REMOTE_ADDR
is the client. The same rule as DRF's throttles (REST_FRAMEWORK["NUM_PROXIES"] is set from the same setting).
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid(address: str) -> str | None:
    address = (address or "").strip()
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's IP address, normalised; None without a request or when nothing valid names one."""
    if request is None:
        return None
    remote_addr = _valid(request.META.get("REMOTE_ADDR", ""))
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = forwarded.split(",")
        # Fewer hops than proxies: a proxy was bypassed or misconfigured; the leftmost is the best we have.
        return _valid(hops[-min(proxies, len(hops))]) or remote_addr
    return remote_addr
