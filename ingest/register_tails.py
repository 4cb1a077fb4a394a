"""The last stored readings of each meter, kept by a lone ingest process. Pure code.

A new reading's interval depends on the readings just before it
(``ingest.consumption``). Reading them from the database costs an index
search per meter and batch, which dominates the database's work when each
message carries one reading. An ingest process that is the only writer of
readings can keep each meter's last few stored readings itself: a batch whose
readings all come after them (the usual, in-order case) needs nothing from the
database.

The tails are right only while no one else writes readings. So one process
at a time keeps them, the one holding the tails lock
(``ingest.reading_repository.take_tails_lock``); every other writer of
register readings counts its transactions in ``ingest_epoch``; the holder
drops all its tails when that count or the registry version (replacements
move readings) has moved, and after any failed transaction, and records a
batch's tails only once the batch is committed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ingest.consumption import Point, context_size

MAX_METERS = 200_000  # beyond this many meters the tails start again from empty


class RegisterTails:
    def __init__(self, max_meters: int = MAX_METERS) -> None:
        self._tails: dict[str, tuple[Point, ...]] = {}
        self._max_meters = max_meters
        self.seen: tuple[int, int] | None = None  # (registry version, ingest_epoch) kept under

    def context_for(self, meter_id: str, earliest_new: Point) -> list[Point] | None:
        """The stored readings that new readings need, if all of them come after the tail."""
        tail = self._tails.get(meter_id)
        if tail is None or (tail and tail[-1].ts >= earliest_new.ts):
            return None
        return list(tail)

    def remember(self, committed: Mapping[str, Sequence[Point]]) -> None:
        """After a commit: each meter's stored readings around the batch, sorted by time.

        Only the last ``context_size()`` readings are kept, which is what a
        later in-order reading depends on.
        """
        if len(self._tails) + len(committed) > self._max_meters:
            self._tails.clear()
        k = context_size()
        for meter_id, points in committed.items():
            self._tails[meter_id] = tuple(points[-k:])

    def forget(self) -> None:
        self._tails.clear()
        self.seen = None

    def __len__(self) -> int:
        return len(self._tails)
