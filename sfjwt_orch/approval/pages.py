"""The pages the callback listener shows in the user's browser (issue 14, item 10).

The one page of sfjwt-orch every user sees: after Allow (or Deny) on Salesforce's page, the
browser lands here. It says what was approved (the alias and the username), what happens next, and
for Deny or an error, what to do. Self-contained (no external resources), escaped (every value
reflected from the query or the command line), never framed, never cached, and no referrer: the
URL carries the authorization code.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

# Sent with every page: nothing loads but the page's own style; no framing (clickjacking the page
# is pointless, but a framed "Approved" could mislead); the code in the URL leaves with no link.
HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f4f6f9;color:#181818}
main{max-width:36rem;margin:3rem auto;padding:1.5rem 2rem;background:#fff;border-radius:.5rem;
box-shadow:0 1px 3px rgba(0,0,0,.15)}
h1{font-size:1.5rem;margin:.2rem 0 1rem}
.ok h1{color:#2e844a}.bad h1{color:#ba0517}
.bad .why{border-left:4px solid #ba0517;background:#fef1ee;padding:.6rem .8rem}
code{background:#eef1f6;padding:.1rem .3rem;border-radius:.2rem;overflow-wrap:anywhere}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}dt{color:#555}dd{margin:0}
"""


@dataclass(frozen=True)
class Approving:
    """Who the approval is for, as the command knows it: shown on the page."""

    alias: str
    username: str


@dataclass(frozen=True)
class Page:
    status: int
    title: str
    body: str

    def encoded(self) -> bytes:
        return self.body.encode("utf-8")


def _render(status: int, kind: str, title: str, content: str) -> Page:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · sfjwt-orch</title><style>{_STYLE}</style></head>"
        f'<body><main class="{kind}"><h1>{escape(title)}</h1>{content}</main></body></html>'
    )
    return Page(status, title, html)


def _who(about: Approving | None) -> str:
    if about is None:
        return ""
    return (
        f"<dl><dt>User</dt><dd>{escape(about.username)}</dd>"
        f"<dt>sf alias</dt><dd><code>{escape(about.alias)}</code></dd></dl>"
    )


def approved(about: Approving | None) -> Page:
    name = escape(about.username) if about else "the user"
    alias = f"</p><p><code>sf org display --target-org {escape(about.alias)}</code>" if about else ""
    return _render(
        200,
        "ok",
        "Approved",
        f"<p>You allowed sfjwt-orch's app to log in as {name}.</p>{_who(about)}"
        "<p><strong>What happens next:</strong> sfjwt-orch, in your terminal, is logging in now; it says "
        f"<em>Logged in</em> when it is done, and sf can then use the org:{alias}</p>"
        "<p>You can close this tab.</p>",
    )


def denied(about: Approving | None, error: str, description: str) -> Page:
    said = escape(error) + (f": {escape(description)}" if description else "")
    if error.upper() == "OAUTH_APP_ACCESS_DENIED":
        why = (
            "The app lets in only users an admin pre-authorized, and this user is not among them: add the user's "
            "profile or permission set to the app's policies (Setup), then run the command again."
        )
    else:
        why = "Access was denied. To try again, run the same command in your terminal and click <em>Allow</em>."
    return _render(
        200,
        "bad",
        "Not approved",
        f'<p class="why">Salesforce said: <code>{said}</code></p>{_who(about)}<p>{why}</p>'
        "<p>sfjwt-orch has stopped waiting; your terminal shows the details. You can close this tab.</p>",
    )


def not_ours() -> Page:
    """A request to the callback path that does not carry this run's `state`: another login's
    return, or a stale tab. Nothing is decided by it."""
    return _render(
        400,
        "bad",
        "Not the approval sfjwt-orch is waiting for",
        '<p class="why">This page was opened from another (or an older) approval link.</p>'
        "<p>Use the URL that sfjwt-orch printed in your terminal for this run. You can close this tab.</p>",
    )


def not_found() -> Page:
    return _render(
        404,
        "bad",
        "Nothing here",
        "<p>This address belongs to sfjwt-orch's approval listener, which serves only its callback URL.</p>",
    )
