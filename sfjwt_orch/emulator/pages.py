"""What the emulator says: HTML pages and REST API bodies. Pure functions of their inputs."""

from __future__ import annotations

import html

DECISION_PATH = "/services/oauth2/authorize/decision"

_STYLE = (
    "body{font-family:sans-serif;max-width:34em;margin:3em auto;color:#181818}"
    "button{padding:.5em 1.5em;margin-right:1em}.note{color:#706e6b;font-size:.8em}"
    ".error{color:#ba0517;font-weight:bold;border-left:4px solid #ba0517;padding-left:.5em}"
    # Allow comes first in the form, so Enter (the form's implicit submission: its first button)
    # means Allow; row-reverse still shows Deny on the left, where Salesforce puts it.
    ".decision{display:flex;flex-direction:row-reverse;justify-content:flex-end}"
)
_NOTE = '<p class="note">Offline Salesforce login emulator (sfjwt-orch). No real org is involved.</p>'

# The scopes Salesforce lists on its consent page for a typical JWT app (api, refresh_token).
_SCOPE_LINES = (
    "Access the identity URL service (id, profile, email, address, phone)",
    "Manage user data via APIs (api)",
    "Perform requests at any time (refresh_token, offline_access)",
)


def _page(title: str, body: str, *, styled: bool = True) -> bytes:
    style = f"<style>{_STYLE}</style>" if styled else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>{style}</head>\n"
        f"<body>\n{body}\n{_NOTE}\n</body></html>\n"
    ).encode()


def allow_access_page(
    *,
    app_name: str,
    request_id: str,
    client_id: str,
    redirect_uri: str,
    state: str | None,
    username: str,
    message: str | None = None,
) -> bytes:
    """Salesforce's "Allow Access?" consent page, with a form a person or a test can submit."""
    e = html.escape
    hidden = {"request_id": request_id, "client_id": client_id, "redirect_uri": redirect_uri}
    if state is not None:
        hidden["state"] = state
    fields = "\n".join(f'<input type="hidden" name="{e(k)}" value="{e(v)}">' for k, v in hidden.items())
    scopes = "".join(f"<li>{e(line)}</li>" for line in _SCOPE_LINES)
    warning = f'<p class="error" role="alert">{e(message)}</p>' if message else ""
    body = f"""<h1>Allow Access?</h1>
{warning}
<p><strong id="app-name">{e(app_name)}</strong> is asking to:</p>
<ul>{scopes}</ul>
<p>Do you want to allow access for the user below?</p>
<form id="approve" method="post" action="{DECISION_PATH}">
{fields}
<label for="username">Username</label>
<input type="text" id="username" name="username" value="{e(username)}" autocomplete="username">
<p class="decision"><button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button></p>
</form>"""
    return _page("Allow Access?", body)


def oauth_error_page(error: str, description: str) -> bytes:
    """Salesforce shows browser-flow errors it cannot redirect as ``error=...&error_description=...``."""
    e = html.escape
    text = f"error={e(error)}&amp;error_description={e(description)}"
    return _page("OAuth Error", f'<h1>OAuth Error</h1>\n<p id="oauth-error">{text}</p>')


def message_page(title: str, text: str, *, styled: bool = True) -> bytes:
    return _page(title, f"<h1>{html.escape(title)}</h1>\n<p>{html.escape(text)}</p>", styled=styled)


def maintenance_page() -> bytes:
    # An HTML body, not JSON: jsforce then reports ERROR_HTTP_503 with this text, as for the real thing.
    return message_page(
        "Down for Maintenance",
        "Salesforce is down for maintenance. This service is temporarily unavailable; please try again later.",
        # Unstyled: sf prints the whole body as the error line, so every byte shows up in its output.
        styled=False,
    )


def server_error_page() -> bytes:
    return message_page("Error", "An internal server error has occurred. Please try again later.", styled=False)


# --------------------------------------------------------------------------- REST bodies


def release_label(version: int) -> str:
    """Release name of an API version: 62 is Winter '25, and each version is one release later."""
    offset = version - 62
    return f"{('Winter', 'Spring', 'Summer')[offset % 3]} '{25 + offset // 3}"


def versions_body(highest: int, lowest: int = 20) -> list[dict[str, str]]:
    return [
        {"label": release_label(v), "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
        for v in range(lowest, highest + 1)
    ]


def resources_body(version: str) -> dict[str, str]:
    base = f"/services/data/v{version}"
    names = (
        "tooling",
        "metadata",
        "eclair",
        "folders",
        "prechatForms",
        "chatter",
        "tabs",
        "appMenu",
        "quickActions",
        "queryAll",
        "commerce",
        "wave",
        "analytics",
        "search",
        "composite",
        "parameterizedSearch",
        "theme",
        "nouns",
        "recent",
        "connect",
        "licensing",
        "limits",
        "process",
        "async-queries",
        "query",
        "emailConnect",
        "compactLayouts",
        "sobjects",
        "actions",
        "support",
    )
    return {name: f"{base}/{name}" for name in names}
