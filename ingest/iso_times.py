"""ISO 8601 time text -> whole microseconds since 1970-01-01 UTC, fast. Pure code.

What a time string means is defined once, by ``iso_datetime`` (the general
parser's reading: surrounding blanks ignored, ``Z``/``z`` is UTC,
``datetime.fromisoformat``, text without an offset in the site's zone with
``fold=0``). ``iso_micros`` reads a whole column of them for the register fast
path (``contract.register_columns``) with the same result, faster:

* a column of ``VECTOR_MIN`` or more strings of one layout —
  ``YYYY-MM-DD``, ``T``/``t``/space, ``hh:mm:ss``, optionally ``.`` or ``,``
  and 1–9 digits of fraction (digits past the sixth are dropped, as
  ``fromisoformat`` drops them), then nothing, ``Z``/``z`` or ``±hh:mm`` —
  is read as one byte matrix: every digit position before the offset checked
  to hold an ASCII digit and every other position (the offset's too) the
  first row's character, the calendar (month lengths, leap years, hours,
  minutes, seconds) checked by numpy's datetime64 parser on the
  ``YYYY-MM-DDThh:mm:ss`` part, the fraction read as digits, the offset once
  (rows with other offsets: value by value). Naive times get their zone's offset from
  ``ZoneInfo.utcoffset`` value by value, which is what attaching the zone does;
* anything else (short columns, mixed layouts, week dates, ``+0800``,
  blanks, other characters) value by value with ``iso_datetime`` itself.

A column any value of which the general parser would refuse gives None: the
caller then leaves the message to the general path, which says why.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

VECTOR_MIN = 16  # shorter columns cost less value by value
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# Naive times the byte matrix localises: a day inside what datetime holds.
_LOCAL_MIN_US = (datetime(1, 1, 2, tzinfo=UTC) - EPOCH) // _MICROSECOND
_LOCAL_MAX_US = (datetime(9999, 12, 30, tzinfo=UTC) - EPOCH) // _MICROSECOND
_YEAR_ONE_S = (datetime(1, 1, 1, tzinfo=UTC) - EPOCH) // timedelta(seconds=1)
Ints = npt.NDArray[np.int64]
# The one layout the byte matrix reads (ASCII digits only: \d would take other scripts' digits).
_LAYOUT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}"
                     r"(?:[.,]([0-9]{1,9}))?([Zz]|[+-][0-9]{2}:[0-9]{2})?")
_ZERO = ord("0")
_DIGITS_TO_0 = bytes.maketrans(b"0123456789", b"0" * 10)
_DIGITS_TO_9 = bytes.maketrans(b"0123456789", b"9" * 10)
_FRACTION_SCALES = {kept: 10 ** np.arange(5, 5 - kept, -1, dtype=np.int64) for kept in range(1, 7)}


def iso_datetime(text: str, tz: ZoneInfo) -> datetime:
    """ISO 8601 text -> an aware datetime (naive text in ``tz``), or ValueError."""
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


def iso_micros(texts: Sequence[str], tz: ZoneInfo) -> list[int] | None:
    """Each text as µs since 1970 UTC, exactly as ``iso_datetime`` reads it; else None."""
    if len(texts) >= VECTOR_MIN:
        column = _column_micros(texts, tz)
        if column is not None:
            return column
    out: list[int] = []
    for text in texts:
        try:
            ts = iso_datetime(text, tz)
        except ValueError:
            return None
        out.append((ts - EPOCH) // _MICROSECOND)
    return out


def _column_micros(texts: Sequence[str], tz: ZoneInfo) -> list[int] | None:
    """The byte-matrix reading of one layout, or None where it does not apply."""
    first = texts[0]
    layout = _LAYOUT.fullmatch(first)
    if layout is None or len(set(map(len, texts))) != 1:
        return None
    try:
        raw = "".join(texts).encode("ascii")
    except UnicodeEncodeError:
        return None
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(len(texts), len(first))
    # each position: the first row's character, or any digit where it has a digit
    # (in the offset too: rows with another offset are read value by value)
    fraction, offset = layout.group(1), layout.group(2)
    fixed = len(offset) if offset else 0
    pattern = first.encode("ascii")
    low = np.frombuffer(pattern[:len(pattern) - fixed].translate(_DIGITS_TO_0)
                        + pattern[len(pattern) - fixed:], dtype=np.uint8)
    span = np.frombuffer(pattern[:len(pattern) - fixed].translate(_DIGITS_TO_9)
                         + pattern[len(pattern) - fixed:], dtype=np.uint8) - low
    if ((rows - low) > span).any():  # below the low end wraps round to above the span
        return None
    stamp = rows[:, :19].copy()
    stamp[:, 10] = ord("T")
    try:
        seconds = stamp.view("S19").ravel().astype("datetime64[s]").astype(np.int64)
    except ValueError:  # no such day, hour, minute or second
        return None
    if int(seconds.min()) < _YEAR_ONE_S:  # numpy has a year 0, datetime has not
        return None
    micros = seconds * 1_000_000
    if fraction:
        kept = min(len(fraction), 6)
        digits = rows[:, 20:20 + kept] - np.uint8(_ZERO)
        micros += digits.astype(np.int64) @ _FRACTION_SCALES[kept]
    if offset is None:
        return _localise(micros, tz)
    if offset not in ("Z", "z"):  # the same ±hh:mm in every row
        sign = -1 if offset[0] == "-" else 1
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        if hours > 23 or minutes > 59:
            return None
        micros -= sign * (hours * 3600 + minutes * 60) * 1_000_000
    utc: list[int] = micros.tolist()
    return utc


def _localise(local: Ints, tz: ZoneInfo) -> list[int] | None:
    """Naive local µs -> UTC µs with the zone's offset at each, as ``replace(tzinfo=tz)`` gives."""
    if int(local.min()) < _LOCAL_MIN_US or int(local.max()) > _LOCAL_MAX_US:
        return None  # near the ends of what datetime holds: the general path decides
    naive: list[datetime] = local.astype("datetime64[us]").tolist()
    offsets = [tz.utcoffset(dt) for dt in naive]
    first = offsets[0]
    if first is not None and offsets.count(first) == len(offsets):
        shifted: list[int] = (local - first // _MICROSECOND).tolist()
        return shifted
    shifts: list[int] = []
    for offset in offsets:
        if offset is None:
            return None
        shifts.append(offset // _MICROSECOND)
    result: list[int] = (local - np.array(shifts, dtype=np.int64)).tolist()
    return result
