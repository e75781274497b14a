"""Whom `numpynn serve` answers: requests addressed to this machine by a name no other site controls, and
state-changing requests only from the server's own pages.

A browser lets any page send a "simple" request (a form post, a fetch without custom headers) to any address,
127.0.0.1 included, without asking the server first. Two checks keep other sites out:

- the Host header must name the server by a name that cannot be pointed elsewhere: 127.0.0.1, localhost, ::1,
  the address it is bound to, or, bound to every interface, an IP address or the machine's own name. A page
  whose DNS name its owner re-points at 127.0.0.1 (DNS rebinding) sends its own name, and is refused.
- a request that changes something (any method but GET and HEAD) must come from the origin it is addressed to:
  its Origin header, or when a client sends none its Referer, must name the same host and port as its Host
  header. A client that sends neither (curl, a script) is not a browser page and is answered.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
WILDCARD = ("", "0.0.0.0", "::")
SAFE_METHODS = ("GET", "HEAD")


def split_host(value: str, default_port: int = 80) -> tuple[str, int] | None:
    """A Host header's (name, port), the name lower-case without IPv6 brackets; None when it is not one."""
    if not value or any(c in value for c in "/?#@\\ \t"):
        return None
    try:
        parts = urlsplit("//" + value)
        name, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number from 0 to 65535
        return None
    return (name, default_port if port is None else port) if name else None


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostPolicy:
    """The names a server bound to `bound_host` accepts in the Host header."""

    def __init__(self, bound_host: str) -> None:
        self.wildcard = bound_host in WILDCARD
        self.names = {*LOOPBACK_NAMES, bound_host.lower()}
        if self.wildcard:
            self.names.add(socket.gethostname().lower())

    def host_refusal(self, host: str | None) -> str | None:
        """Why a request with this Host header is refused, or None when it is accepted."""
        parsed = split_host(host or "")
        if parsed is None:
            return f"a Host header naming this server is required, got {(host or '')[:60]!r}"
        name = parsed[0]
        if name in self.names or (self.wildcard and _is_ip(name)):
            return None
        return (f"unexpected Host {name[:60]!r}: this server answers to {sorted(self.names)[:4]}"
                + (" or an IP address" if self.wildcard else "") + "; open the address `numpynn serve` printed")


def origin_refusal(method: str, host: str | None, origin: str | None, referer: str | None) -> str | None:
    """Why a `method` request with these headers comes from another site's page, or None when it does not."""
    if method in SAFE_METHODS:
        return None
    source, header = (origin, "Origin") if origin is not None else (referer, "Referer")
    if source is None:
        return None
    own = split_host(host or "")
    try:
        parts = urlsplit(source.strip())
    except ValueError:  # e.g. an unclosed IPv6 bracket
        parts = None
    theirs = split_host(parts.netloc) if parts is not None and parts.scheme == "http" else None  # "null": None
    if own is not None and theirs == own:
        return None
    return (f"a {method} from another site's page is refused: {header} {source[:80]!r} is not this server "
            f"({(host or 'no Host')[:60]}); use the pages `numpynn serve` serves")
