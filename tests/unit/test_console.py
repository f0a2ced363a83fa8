"""The one place output is rendered (console.py): text we did not write reaches a terminal inert
(issue 16, low: terminal escape injection, rich markup in values)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console as RichConsole

from sfjwt_orch.ui.console import StreamConsole
from sfjwt_orch.ui.redact import clean, redact


def _terminal() -> tuple[StreamConsole, io.StringIO]:
    """Our Console drawing on a (fake) colour terminal, as a person at a terminal sees it."""
    buffer = io.StringIO()
    console = StreamConsole(io.StringIO(), buffer)
    console._plain = False
    console._err = RichConsole(file=buffer, force_terminal=True, color_system="truecolor", highlight=False, width=200)
    return console, buffer


@pytest.mark.parametrize(
    "value",
    [
        "x[/]@acme.com",  # a closing tag with nothing open: rich raises MarkupError unless escaped
        "[link=https://evil.example]click[/link]",  # would plant an OSC 8 hyperlink
        "[bold red]✓ Logged in[/]",
    ],
)
def test_markup_in_a_value_is_shown_as_text(value: str) -> None:
    console, buffer = _terminal()
    console.info(f"sf said: {value}")
    console.error(f"refused: {value}", f"fix {value}")
    console.status(f"Logging in as {value}…")
    console.clear_status()
    out = buffer.getvalue()
    assert "\x1b]8;" not in out  # no hyperlink
    assert value in out  # the brackets themselves are shown


def test_control_sequences_from_others_never_reach_the_terminal() -> None:
    hostile = "a\x1b]0;title\x07b\x1b]52;c;ZXZpbA==\x07c\x1b[2J\rd\u202ee\x9b31m"
    console, buffer = _terminal()
    console.warn(hostile)
    console.url(hostile, "https://acme.my.salesforce.com/?" + hostile)
    out = buffer.getvalue()
    for control in ("\x1b]", "\x07", "\x1b[2J", "\r", "\u202e", "\x9b"):
        assert control not in out
    assert clean(hostile) == "a]0;titleb]52;c;ZXZpbA==c[2Jde31m" and clean("one\ntwo\tthree") == "one\ntwo\tthree"


def test_plain_output_is_cleaned_too() -> None:
    err = io.StringIO()  # not a terminal: plain lines
    console = StreamConsole(io.StringIO(), err)
    console.info("x[/]@acme.com \x1b[31mred")
    console.status("waiting \x1b]0;t\x07", persistent=True)
    assert err.getvalue() == "x[/]@acme.com [31mred\nwaiting ]0;t\n"


def test_the_console_writes_only_to_the_streams_it_was_given(capsys: pytest.CaptureFixture[str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    console = StreamConsole(out, err)
    console.emit_json({"ok": True}, one_line=True)
    console.out("result\n")
    console.warn("careful")
    console.error("it failed", "do this")
    console.url("Open:", "https://acme.my.salesforce.com/")
    console.trace("run: sf --version")
    assert out.getvalue() == '{"ok": true}\nresult\n'
    assert err.getvalue() == (
        "! careful\nerror: it failed\n  fix: do this\nOpen:\n\n    https://acme.my.salesforce.com/\n\n"
        "[debug] run: sf --version\n"
    )
    assert capsys.readouterr() == ("", "")  # nothing behind its back on the process's own streams


def test_base64_of_a_pem_key_is_redacted_wrapped_or_not() -> None:
    import base64

    from tests.fakesecrets import pem_block, random_body

    encoded = base64.b64encode(pem_block("PRIVATE KEY", random_body(6)).encode()).decode()
    wrapped = "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    for text in (encoded, wrapped, f'{{"key_env": "{encoded}"}}'):
        out = redact(f"given: {text} end")
        assert encoded[20:60] not in out and "[REDACTED BASE64 KEY]" in out and out.endswith(" end")


def test_a_table_cell_is_shown_like_a_line() -> None:
    from rich.table import Table

    from sfjwt_orch.ui.console import cell

    console, buffer = _terminal()
    table = Table()
    table.add_column("detail")
    table.add_row(cell("sf org display says [link=https://evil.example]x[/link] \x1b]0;t\x07[/]"))
    console.err.print(table)
    out = buffer.getvalue()
    assert "\x1b]" not in out and "[link=https://evil.example]x[/link]" in out


def test_the_prompter_asks_on_its_streams_and_reasks_with_the_reason() -> None:
    from sfjwt_orch.errors import Code, SfjwtError
    from sfjwt_orch.ui.console import Prompter

    def positive(answer: str) -> str:
        if not answer.isdigit():
            raise SfjwtError(Code.USAGE, f"{answer!r} is not a number", "type digits only")
        return answer

    err = io.StringIO()
    prompter = Prompter(StreamConsole(io.StringIO(), err), io.StringIO("ten\n\n"), err)
    assert prompter.ask("How many", positive, default="3") == "3"  # refused once, then Enter takes the default
    assert err.getvalue() == "? How many [3]: ! 'ten' is not a number: type digits only\n? How many [3]: "
    with pytest.raises(SfjwtError) as ended:  # the input is used up: a closed terminal
        prompter.ask("How many", positive)
    assert ended.value.code is Code.INTERRUPTED
