"""Text from a user (a link, a file name) shown as text: Streamlit renders messages as Markdown."""

import re

_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation mark


def plain(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters, every Markdown character escaped, so it shows literally."""
    text = str(text)
    text = text if len(text) <= limit else text[:limit] + "…"
    return _PUNCTUATION.sub(r"\\\1", text)
