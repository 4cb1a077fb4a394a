"""Text that PostgreSQL can store: the contract's rule for every text field. Pure code.

PostgreSQL's ``text`` holds valid UTF-8 without the NUL character. A Python
string that came from JSON may hold either of what it cannot: ``\\u0000``, or
a lone surrogate (``"\\ud800"`` in JSON, or the bytes ``ED A0 80``, which
``json.loads`` lets through). Such a value must be refused before the write
(``text_problem``: a dead letter ``unstorable_text``), and whatever is
written about a refused message — its topic, the reason's detail — is escaped
(``escaped``) so that the dead letter itself can always be stored.
"""

from __future__ import annotations


def text_problem(text: str) -> str | None:
    """What PostgreSQL could not store in ``text``, or None when it can store it all."""
    if "\x00" in text:
        return "holds the NUL character (\\u0000)"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "holds a lone surrogate (not valid Unicode text)"
    return None


def escaped(text: str) -> str:
    """``text`` with NUL and lone surrogates written as ``\\u0000``, ``\\ud800``: storable."""
    if "\x00" in text:
        text = text.replace("\x00", "\\u0000")
    if text.isascii():
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def encoded(text: str) -> bytes:
    """UTF-8 bytes of ``text``, lone surrogates written as ``\\ud800`` (as JSON escapes them)."""
    return text.encode("utf-8", "backslashreplace")
