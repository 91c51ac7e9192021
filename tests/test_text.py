"""ui.text.plain: text from a user shows literally, and no address in it can become a link."""

import re

import pytest

from ui.text import WORD_JOINER, plain

# What Streamlit 1.67's Markdown (remark-gfm's mdast-util-gfm-autolink-literal, in its bundled
# StreamlitMarkdown.js) searches the parsed text for, as Python regexes (JS's \w is ASCII).
GFM_URL = re.compile(r"(https?://|www(?=\.))([-.\w]+)", re.IGNORECASE | re.ASCII)
GFM_EMAIL = re.compile(r"([-.\w+]+)@([-\w]+(?:\.[-\w]+)+)", re.ASCII)

HOSTILE = ["x` ![](https://evil.example/pixel.png) `", "https://evil.example/login", "HTTP://EVIL.EXAMPLE",
           "www.evil.example", "see WWW.Evil.Example/x", "someone@evil.example", "mailto:me@evil.example",
           "[Log in](http://evil.example)", "<a href='https://evil.example'>x</a>"]


def parsed(markdown: str) -> str:
    """The text Markdown makes of ``plain``'s output: each escaped mark is the mark itself."""
    return re.sub(r"\\(.)", r"\1", markdown)


@pytest.mark.parametrize("text", HOSTILE)
def test_no_address_survives_for_the_autolinker(text):
    assert GFM_URL.search(text) or GFM_EMAIL.search(text) or "<a" in text  # the probe is a real one
    shown = parsed(plain(text))
    assert not GFM_URL.search(shown) and not GFM_EMAIL.search(shown)
    assert shown.replace(WORD_JOINER, "") == text  # and it reads as typed


def test_every_markdown_mark_is_escaped_and_long_text_is_cut():
    out = plain("a*b_c`[d](e)<f>#!" + "y" * 500, limit=20)
    assert not re.search(r"(?<!\\)[*_`\[\]()<>#!]", out)
    assert parsed(out) == ("a*b_c`[d](e)<f>#!" + "y" * 500)[:20] + "…"


def test_plain_text_without_addresses_is_unchanged_but_for_escapes():
    assert plain("digits 3.npz") == r"digits 3\.npz"
    assert WORD_JOINER not in plain("a www b: c, the wwwroot.txt file")
