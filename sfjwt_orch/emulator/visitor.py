"""A scripted person at a browser: opens an approval URL, clicks Allow (or Deny), follows the redirect.

Used as the `BROWSER` command by the demo and the end-to-end tests, so the approval step goes
through the same HTTP exchange a browser makes: the "Allow Access?" page, its form, the 302 to
the app's callback URL and the visit to that URL (where sfjwt-orch's listener may be waiting).

    python -m sfjwt_orch.emulator.visitor URL [--deny] [--delay SECONDS] [--log FILE]

Exit 0 when the decision was submitted, 1 when the page refused (e.g. redirect_uri_mismatch).
Only loopback URLs are visited: this is for the offline emulator, never a real org.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
import urllib.error
import urllib.request
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

from .product import is_loopback_host


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # we follow redirects ourselves, to see where they point


class _FormParser(HTMLParser):
    """The first <form>: action, inputs, and the submit buttons' (name, value)."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.inputs: dict[str, str] = {}
        self.buttons: list[tuple[str, str]] = []
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action, self._inside = a.get("action", ""), True
        elif self._inside and tag == "input" and "name" in a:
            self.inputs[a["name"]] = a.get("value", "")
        elif self._inside and tag == "button" and a.get("type", "submit") == "submit":
            self.buttons.append((a.get("name", ""), a.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False


def _open(url: str, data: bytes | None = None) -> tuple[int, str, str]:
    """(status, body, Location) without following redirects."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, data=data), timeout=10) as resp:
            return resp.status, resp.read().decode("utf-8", "replace"), resp.headers.get("Location", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace"), exc.headers.get("Location", "")


def _follow(location: str) -> None:
    """Visit the callback as the browser would; nothing listening there is fine (the approval is stored)."""
    with contextlib.suppress(urllib.error.URLError, OSError):
        _open(location)


def visit(url: str, *, allow: bool = True) -> str:
    """Approve or deny at `url`; return where Salesforce redirected the browser."""
    if not is_loopback_host(urlsplit(url).hostname or ""):
        raise ValueError(f"refusing to visit a non-loopback URL: {url}")
    status, body, location = _open(url)
    if status in (301, 302, 303):  # auto-approve: redirected at once
        _follow(location)
        return location
    if status != 200:
        raise RuntimeError(f"the authorize page answered {status}: {body.strip()[:200]}")
    form = _FormParser()
    form.feed(body)
    if form.action is None:
        raise RuntimeError("the authorize page has no form")
    choice = "allow" if allow else "deny"
    button = next(((n, v) for n, v in form.buttons if v == choice), None)
    if button is None:
        raise RuntimeError(f"the authorize page has no {choice!r} button")
    fields = {**form.inputs, button[0]: button[1]}
    status, body, location = _open(urljoin(url, form.action), urlencode(fields).encode())
    if status not in (301, 302, 303) or not location:
        raise RuntimeError(f"the decision was answered {status}: {body.strip()[:200]}")
    _follow(location)
    return location


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="visitor", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("url")
    parser.add_argument("--deny", action="store_true", help="click Deny instead of Allow")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait first, like a person reading")
    parser.add_argument("--log", help="append each visited URL to this file")
    args = parser.parse_args(argv)
    if args.log:
        with open(args.log, "a", encoding="utf-8") as fh:
            fh.write(args.url + "\n")
    time.sleep(max(0.0, args.delay))
    try:
        location = visit(args.url, allow=not args.deny)
    except (RuntimeError, ValueError, OSError) as exc:
        print(f"visitor: {exc}", file=sys.stderr)
        return 1
    print(
        f"visitor: {'allowed' if not args.deny else 'denied'}; redirected to {location.split('?')[0]}", file=sys.stderr
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
