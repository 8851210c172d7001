"""The client's address behind a reverse proxy (deploy/nginx.conf in production).

Behind nginx every request comes from the proxy's address; the client's own is in the
X-Forwarded-For (and X-Real-IP) header the proxy sets. Those headers are believed only from a
peer listed in DJANGO_TRUSTED_PROXIES: anyone else could write any address there, and the login
throttle, the Identity API's throttle and the request log key on the client address.

ForwardedForMiddleware runs first, so everything after it (the request log included) sees the
client's address in REMOTE_ADDR. From a trusted proxy it takes the right-most X-Forwarded-For entry
that is not itself a trusted proxy (each proxy appends the address it saw, so entries to the left
of the first untrusted one may be forged), or X-Real-IP without X-Forwarded-For. From any other
peer the forwarding headers are removed, X-Forwarded-Proto included, so that neither Django's
SECURE_PROXY_SSL_HEADER nor any later code can be told a forged address or scheme.
"""

import ipaddress
from collections.abc import Callable, Iterable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP", "HTTP_X_FORWARDED_PROTO")


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or networks ("10.0.0.5", "10.0.0.0/8", "::1"); raises ValueError on others."""
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values if value.strip())


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:4711"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "192.0.2.1:4711"
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def is_trusted(value: str, proxies: tuple[Network, ...]) -> bool:
    address = _address(value)
    return address is not None and any(address in network for network in proxies)


def client_address(meta: dict, proxies: tuple[Network, ...]) -> str | None:
    """The client's address from the forwarding headers of a request whose peer is trusted, or
    None when they name none (absent, empty or not an address)."""
    forwarded = [entry for entry in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if entry.strip()]
    if not forwarded:
        real_ip = _address(meta.get("HTTP_X_REAL_IP", ""))
        return str(real_ip) if real_ip is not None else None
    for entry in reversed(forwarded):
        address = _address(entry)
        if address is None:
            # A hop wrote something that is not an address: nothing left of it can be believed.
            return None
        if not any(address in network for network in proxies):
            return str(address)
    # Every hop is a trusted proxy: the left-most is the closest to the client that is known.
    return str(_address(forwarded[0]))


class ForwardedForMiddleware:
    """REMOTE_ADDR := the client's address when the peer is a trusted proxy (see the module)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.proxies = parse_networks(settings.TRUSTED_PROXIES)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        peer = meta.get("REMOTE_ADDR", "")
        if self.proxies and is_trusted(peer, self.proxies):
            client = client_address(meta, self.proxies)
            if client is not None:
                meta["REMOTE_ADDR"] = client
        else:
            for name in FORWARDING_HEADERS:
                meta.pop(name, None)
        return self.get_response(request)
