"""The SSRF rule of webhook URLs (SPEC 19): where a delivery may go, and to which address.

An endpoint URL is checked when it is saved and again at every delivery, since
what a name resolves to can change:

- https only, unless settings.DEBUG or settings.KEYWARD_WEBHOOKS_ALLOW_PRIVATE;
- a host, no user name or password, a valid port;
- every address the host resolves to must be a public unicast one: loopback, private,
  link-local (169.254.169.254, the cloud metadata address, is one), shared/CGNAT
  (100.64.0.0/10: Alibaba's metadata 100.100.100.200), multicast, unspecified,
  reserved, documentation and the IETF block (192.0.0.0/24: Oracle's metadata
  192.0.0.192) are refused, in IPv4 and IPv6, and an IPv6 address carrying an IPv4
  one (IPv4-mapped, NAT64, 6to4, Teredo) is judged by that IPv4 address. One bad
  address among several refuses the name.
  settings.KEYWARD_WEBHOOKS_ALLOW_PRIVATE (tests, a receiver on this machine) lifts
  this rule alone.

`resolve_target(url)` returns the address checked, and the delivery connects to
that address (the Host header and TLS name stay the URL's host): nothing resolves
the name again between the check and the connection (no DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as ResolveTimeout
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

from django.conf import settings

from tokens.webhooks.constants import MAX_URL_LENGTH, RESOLVE_SECONDS

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Refused whatever Python's `is_global` says about them (it calls multicast global,
# and 192.0.0.192 too).
_REFUSED_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",
        "100.64.0.0/10",  # shared address space (CGNAT)
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, with the metadata address 169.254.169.254
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments, with 192.0.0.192
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
        "::/128",
        "::1/128",
        "100::/64",  # discard
        "2001::/23",  # IETF protocol assignments (Teredo's 2001::/32 is judged by its IPv4)
        "2001:db8::/32",  # documentation
        "fc00::/7",  # unique local, with AWS's metadata fd00:ec2::254
        "fe80::/10",  # link-local
        "ff00::/8",  # multicast
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_TEREDO = ipaddress.ip_network("2001::/32")


class Refused(ValueError):
    """A URL or an address a delivery may not go to; the message says why, for people."""


@dataclass(frozen=True)
class Target:
    """Where one delivery connects: the URL with the checked address in place of the
    host, the Host header, and the name TLS verifies (None for an address literal)."""

    url: str
    host_header: str
    tls_name: str | None
    address: str


def _allows_private() -> bool:
    return bool(getattr(settings, "KEYWARD_WEBHOOKS_ALLOW_PRIVATE", False))


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries: IPv4-mapped, NAT64, 6to4 or Teredo's client."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _TEREDO and address.teredo is not None:
        return address.teredo[1]
    return None


def address_problem(address: IPAddress) -> str | None:
    """Why a delivery may not connect to `address` (None: a public unicast address)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            problem = address_problem(embedded)
            return f"it carries the IPv4 address {embedded}: {problem}" if problem else None
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (where cloud metadata services answer)"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "an unspecified address"
    if any(address in network for network in _REFUSED_NETWORKS) or not address.is_global:
        return "a private or reserved address"
    return None


def url_problem(url: str) -> str | None:
    """Why `url` cannot be an endpoint, on its face (None: its form is fine)."""
    if not url or len(url) > MAX_URL_LENGTH:
        return f"Enter a URL of at most {MAX_URL_LENGTH} characters."
    if any(ord(c) <= 32 or ord(c) == 127 for c in url):
        return "The URL may not contain spaces or control characters."
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError:
        return "Enter a valid URL."
    insecure_ok = settings.DEBUG or _allows_private()
    if parts.scheme not in (("https", "http") if insecure_ok else ("https",)):
        return "The URL must start with https://."
    if not parts.hostname:
        return "The URL needs a host name."
    if parts.username is not None or parts.password is not None:
        return "Put no user name or password in the URL."
    try:
        parts.hostname.encode("idna")
    except UnicodeError:
        return "The URL's host name is not valid."
    return None


def _resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (at most RESOLVE_SECONDS), or Refused."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
        try:
            infos = future.result(timeout=RESOLVE_SECONDS)
        except ResolveTimeout:
            raise Refused(f"{host} did not resolve within {RESOLVE_SECONDS:g} seconds.") from None
        except (OSError, UnicodeError):
            raise Refused(f"{host} does not resolve to an address.") from None
    found: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    if not found:
        raise Refused(f"{host} does not resolve to an address.")
    return found


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _default_port(parts: SplitResult) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)


def resolve_target(url: str) -> Target:
    """Check `url` and the addresses its host resolves to now; where to connect, or Refused."""
    problem = url_problem(url)
    if problem:
        raise Refused(problem)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = _default_port(parts)
    literal = _literal(host)
    addresses = [literal] if literal is not None else _resolve(host, port)
    if not _allows_private():
        for address in addresses:
            why = address_problem(address)
            if why:
                shown = host if literal is not None else f"{host} resolves to {address}:"
                raise Refused(f"Deliveries may not go to {shown} {why}.")
    address = addresses[0]
    netloc = f"[{address}]" if address.version == 6 else str(address)
    if parts.port:
        netloc += f":{parts.port}"
    host_header = f"[{host}]" if literal is not None and literal.version == 6 else host
    if parts.port:
        host_header += f":{parts.port}"
    connect_url = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    return Target(
        url=connect_url,
        host_header=host_header,
        tls_name=host if parts.scheme == "https" and literal is None else None,
        address=str(address),
    )


def url_for_log(url: str) -> str:
    """The URL as events and emails show it: scheme, host, port and path, no query."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
