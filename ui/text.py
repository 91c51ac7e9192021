"""Text from a user (a link, a file name) shown as text: Streamlit renders messages as Markdown."""

import re

_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation mark
# Streamlit's Markdown (remark-gfm) turns a bare address into a link even where every mark is escaped:
# after parsing, it searches the text for `https?://` or `www.` followed by a domain, and for
# `name@domain.tld` (its regexes: /(https?:\/\/|www(?=\.))([-.\w]+).../gi and /([-.\w+]+)@([-\w]+(...))/u).
# An invisible word joiner right after "://" and "@", and between "www" and ".", leaves none of them a
# match; the text still reads the same.
_LINK_STARTS = re.compile(r"(://|@|(?<=www)(?=\.))", re.IGNORECASE)
WORD_JOINER = "\u2060"


def plain(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters, every Markdown character escaped and every address
    broken for the autolinker, so it shows literally and never as a link, an image or HTML."""
    text = str(text)
    text = text if len(text) <= limit else text[:limit] + "…"
    text = _LINK_STARTS.sub(lambda match: match.group(0) + WORD_JOINER, text)
    return _PUNCTUATION.sub(r"\\\1", text)
