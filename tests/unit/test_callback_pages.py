"""The callback listener's pages (issue 14, item 10): what a person reads after Allow or Deny."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from sfjwt_orch.approval import pages
from sfjwt_orch.approval.pages import Approving, Page

WHO = Approving("my-hub", "ci-bot@acme.com")
NASTY = Approving('<script>alert("a")</script>', 'x@y.com"><img src=x onerror=alert(1)>')


class _Outline(HTMLParser):
    """The page's shape: its tags and attributes, and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def outline(page: Page) -> _Outline:
    parsed = _Outline()
    parsed.feed(page.body)
    return parsed


PAGES = {
    "approved": pages.approved(WHO),
    "denied": pages.denied(WHO, "access_denied", "end-user denied authorization"),
    "not admin approved": pages.denied(WHO, "OAUTH_APP_ACCESS_DENIED", ""),
    "not ours": pages.not_ours(),
    "not found": pages.not_found(),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_has_lang_title_viewport_and_nothing_external(name: str) -> None:
    page = PAGES[name]
    shape = outline(page)
    html = next(attrs for tag, attrs in shape.tags if tag == "html")
    assert html.get("lang") == "en"
    assert any(tag == "title" for tag, _ in shape.tags) and f"<title>{page.title} · sfjwt-orch</title>" in page.body
    assert ("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}) in shape.tags
    assert not [t for t, a in shape.tags if t in ("script", "img", "link", "iframe") or "src" in a or "href" in a]


def test_the_approved_page_names_who_and_what_happens_next() -> None:
    text = " ".join(outline(PAGES["approved"]).text)
    assert "ci-bot@acme.com" in text and "my-hub" in text
    assert "What happens next" in text and "Logged in" in text and "close this tab" in text
    assert PAGES["approved"].status == 200


def test_deny_and_errors_are_styled_as_errors_and_say_what_to_do() -> None:
    for name in ("denied", "not admin approved", "not ours"):
        page = PAGES[name]
        assert '<main class="bad">' in page.body and 'class="why"' in page.body, name
    assert "end-user denied authorization" in PAGES["denied"].body and "click <em>Allow</em>" in PAGES["denied"].body
    assert "pre-authorized" in PAGES["not admin approved"].body
    assert PAGES["not ours"].status == 400 and PAGES["not found"].status == 404


def test_everything_reflected_is_escaped() -> None:
    for page in (
        pages.approved(NASTY),
        pages.denied(NASTY, "<b>x</b>", '"><script>alert(2)</script>'),
    ):
        shape = outline(page)
        assert not [t for t, _ in shape.tags if t in ("script", "img", "b")]
        assert "&lt;script&gt;" in page.body


def test_the_headers_refuse_framing_caching_and_referrers() -> None:
    headers = pages.HEADERS
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"] and headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer" and headers["Cache-Control"] == "no-store"
