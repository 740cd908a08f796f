"""The duplicate index: the first row of every address seen so far, in bounded memory.

A dict from address to row costs about 150 bytes an address (the key's string, the row's int, the
dict's slot): a million rows fit in ~150 MB, but 240 MB of short addresses hold 22 million, and the
function has 2 GB. So the index starts as that dict (exact, and the fastest per row) and, past
``EXACT_INDEX_MAX`` addresses, moves to a ``FingerprintTable``: 12 bytes an address and 8 a slot of
its hash table (23 to 33 bytes an address in all), numpy arrays worked a block at a time.

The table compares a 96-bit fingerprint of each address instead of the address: CPython's ``hash``
of it (SipHash-1-3, 64 bits), and 32 bits of the hash of it behind a salt drawn at random for each
index. SipHash is keyed by the process's random secret (hash randomisation, on unless PYTHONHASHSEED
is set). Two different addresses share a fingerprint, and the later would be called a duplicate of
the earlier, with a chance of at most n²/2⁹⁷ for n addresses: 3·10⁻¹⁵ for the 22 million of 240 MB,
10⁻¹⁴ for the most a 250 MB file can hold (42 million, 6 bytes a line), far below the chance of an
undetected memory error in the machine that runs the check. The file's author knows neither the
secret nor the salt, so no file can be written to collide.
"""

from __future__ import annotations

import os
from itertools import compress, repeat
from operator import add, is_not
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

#: Addresses held in the exact dict; past this the index moves to fingerprints (so a million-row
#: file stays on the dict: ~150 MB, and numpy is imported only for larger files).
EXACT_INDEX_MAX = 1 << 20

#: The shortest line that holds an address ("a@b.c" and a line break): a file of ``size`` bytes has
#: at most ``size // MIN_ADDRESS_LINE_BYTES + 1`` addresses (other encodings spend more bytes a character).
MIN_ADDRESS_LINE_BYTES = 6

#: Repeats of a block: (index of the row in the block, first row of its address in the file).
Repeats = list[tuple[int, int]]


class AddressIndex:
    """The first row of every address (the normalised key of a row) seen so far, in file order."""

    def __init__(self, *, file_bytes: int | None = None, exact_max: int | None = None) -> None:
        """``file_bytes``: the file's size when known, to reserve the table once (no copy as it grows).

        ``exact_max``: addresses held exactly before the move to fingerprints (``EXACT_INDEX_MAX``).
        """
        self._first_row_of: dict[str, int] | None = {}
        self._table: FingerprintTable | None = None
        self._exact_max = EXACT_INDEX_MAX if exact_max is None else exact_max
        self._file_bytes = file_bytes

    @property
    def exact(self) -> bool:
        """True while the index compares the addresses themselves (not yet fingerprints)."""
        return self._table is None

    def add_block(self, keys: list[str], first_row: int) -> Repeats:
        """Record a block's rows (``keys[i]`` is row ``first_row + i``; ``""``: the row has no address).

        Returns the rows whose address was seen before (earlier in the file or in this block), each
        with the first row of that address, in block order.
        """
        if self._first_row_of is None:
            assert self._table is not None
            return self._table.add_block(keys, first_row)
        first_row_of = self._first_row_of
        numbers = list(range(first_row, first_row + len(keys)))
        # setdefault hands back the very int it was given when the address is new: an identity test
        # finds the later copies, cheaper than comparing values (and making a second int per row).
        first_rows = list(map(first_row_of.setdefault, keys, numbers))
        first_row_of.pop("", None)
        later = compress(range(len(keys)), map(is_not, first_rows, numbers))
        repeats = [(i, first_rows[i]) for i in later if keys[i]]
        if len(first_row_of) > self._exact_max:
            self._to_fingerprints()
        return repeats

    def _to_fingerprints(self) -> None:
        assert self._first_row_of is not None
        expected = None if self._file_bytes is None else self._file_bytes // MIN_ADDRESS_LINE_BYTES + 1
        table = FingerprintTable(expected=max(expected or 0, len(self._first_row_of)))
        table.add_first_rows(self._first_row_of)
        self._first_row_of, self._table = None, table


class FingerprintTable:
    """The first row of each address, by its 96-bit fingerprint (see the module's docstring).

    Open addressing with linear probing over a power-of-two array of slots, at most 3/4 full. A slot
    is 8 bytes: 0 when empty, else the number of an entry + 1 and a 32-bit tag (the high half of the
    first fingerprint, whose low bits are the home slot), so a probe that meets another address's slot
    moves on without reading its entry, and the slots rehash from themselves, in order. The entries
    (the other 64 bits of the fingerprint and the first row, 12 bytes) sit in dense arrays in the order
    they came, reserved once when the file's size is known. A block is looked up and inserted at once:
    each round probes the slot of every address still pending, settles those that find their
    fingerprint or claim an empty slot, and moves the others one slot on.
    """

    _MAX_LOAD = 0.75
    _CLAIMING = 0xFFFF_FFFF_FFFF_FFFF  # a slot being claimed in a round holds this less the claimant
    _TAG = 0xFFFF_FFFF

    def __init__(self, *, expected: int | None = None) -> None:
        """``expected``: about this many addresses will come (reserved at once, touched as used)."""
        import numpy as np

        self._np = np
        self._salt = os.urandom(8).hex()
        capacity = max(1 << 16, expected or 0)
        # np.empty maps pages only when they are written: the reservation costs no memory until used.
        self._low = np.empty(capacity, np.uint32)  # the low half of the first fingerprint
        self._fp2 = np.empty(capacity, np.uint32)
        self._rows = np.empty(capacity, np.uint32)
        self._size = 0
        self._slots = np.zeros(1 << 16, np.uint64)
        self._mask = len(self._slots) - 1

    def __len__(self) -> int:
        return self._size

    @property
    def nbytes(self) -> int:
        """The memory the table uses: its entries so far and its slots."""
        return self._size * (4 + 4 + 4) + self._slots.nbytes

    def fingerprints(self, keys: list[str]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint32]]:
        """The two parts of each address's fingerprint: 64 bits, and 32 more."""
        np, count = self._np, len(keys)
        fp1 = np.fromiter(map(hash, keys), np.int64, count).view(np.uint64)
        fp2 = np.fromiter(map(hash, map(add, repeat(self._salt), keys)), np.int64, count)
        return fp1, fp2.astype(np.uint32)

    def add_first_rows(self, first_row_of: dict[str, int]) -> None:
        """Take over an exact index (its addresses are distinct: none repeats another)."""
        np, keys, step = self._np, list(first_row_of), 1 << 16
        self._reserve(len(keys))
        for start in range(0, len(keys), step):
            chunk = keys[start : start + step]
            fp1, fp2 = self.fingerprints(chunk)
            rows = np.fromiter(map(first_row_of.__getitem__, chunk), np.uint32, len(chunk))
            self._first_rows(fp1, fp2, rows)

    def add_block(self, keys: list[str], first_row: int) -> Repeats:
        """As ``AddressIndex.add_block``."""
        np = self._np
        if first_row + len(keys) > 0xFFFF_FFFF:  # rows are 32-bit: 4 billion rows, far past any file
            raise OverflowError("a fingerprint table numbers at most 4,294,967,295 rows")
        present = list(filter(None, keys))
        if not present:
            return []
        indices = np.fromiter(compress(range(len(keys)), keys), np.int64, len(present))
        fp1, fp2 = self.fingerprints(present)
        rows = (indices + first_row).astype(np.uint32)
        first_rows = self._first_rows(fp1, fp2, rows)
        repeated = np.flatnonzero(first_rows != rows)
        return list(zip(indices[repeated].tolist(), first_rows[repeated].tolist(), strict=True))

    def _first_rows(
        self, fp1: npt.NDArray[np.uint64], fp2: npt.NDArray[np.uint32], rows: npt.NDArray[np.uint32]
    ) -> npt.NDArray[np.uint32]:
        """Each fingerprint's first row (its own row when new, then recorded); ``rows`` ascend."""
        np = self._np
        self._reserve(len(rows))
        slots, mask = self._slots, self._mask
        first_rows = rows.copy()
        tags = fp1 >> np.uint64(32)
        low = fp1.astype(np.uint32)
        pos = (tags & np.uint64(mask)).astype(np.int64)
        pending = np.arange(len(rows))  # ascending: the earliest row wins an empty slot
        while len(pending):
            at = pos[pending]
            held = slots[at]
            empty = held == 0
            # A slot with this tag: the same fingerprint is a repeat (settled), another moves on.
            tagged = np.flatnonzero((held & np.uint64(self._TAG)) == tags[pending])
            tagged = tagged[~empty[tagged]]
            entry = (held[tagged] >> np.uint64(32)).astype(np.int64) - 1
            asked = pending[tagged]
            same = (self._low[entry] == low[asked]) & (self._fp2[entry] == fp2[asked])
            first_rows[asked[same]] = self._rows[entry[same]]
            moves = ~empty
            moves[tagged[same]] = False
            moving = pending[moves]
            pos[moving] = (pos[moving] + 1) & mask
            # Empty slots: the earliest row that reaches one takes it; a later row with the same
            # fingerprint (a repeat within the block) finds it taken in the next round.
            claims, claimed = pending[empty], at[empty]
            bids = np.uint64(self._CLAIMING) - claims.astype(np.uint64)
            np.maximum.at(slots, claimed, bids)
            won = slots[claimed] == bids
            winners = claims[won]
            start, stop = self._size, self._size + len(winners)
            self._low[start:stop] = low[winners]
            self._fp2[start:stop] = fp2[winners]
            self._rows[start:stop] = rows[winners]
            numbers = np.arange(start + 1, stop + 1, dtype=np.uint64) << np.uint64(32)
            slots[claimed[won]] = numbers | tags[winners]
            self._size = stop
            if len(winners) == len(claims):
                pending = moving
            else:
                pending = np.sort(np.concatenate((moving, claims[~won])))
        return first_rows

    def _reserve(self, more: int) -> None:
        np, needed = self._np, self._size + more
        if needed > len(self._rows):  # more addresses than expected (or no size was known): grow
            capacity = max(needed, 2 * len(self._rows))
            for name in ("_low", "_fp2", "_rows"):
                old = getattr(self, name)
                new = np.empty(capacity, old.dtype)
                new[: self._size] = old[: self._size]
                setattr(self, name, new)
        if needed > self._MAX_LOAD * len(self._slots):
            size = len(self._slots)
            while needed > self._MAX_LOAD * size:
                size *= 2
            old, self._slots, self._mask = self._slots, np.zeros(size, np.uint64), size - 1
            # In the old slots' order the new homes ascend too: the rehash walks memory in order.
            for start in range(0, len(old), 1 << 20):
                chunk = old[start : start + (1 << 20)]
                self._place(chunk[chunk != 0])

    def _place(self, held: npt.NDArray[np.uint64]) -> None:
        """Put slot values (distinct entries) into the slots: any of those after one free slot takes it."""
        np, slots, mask = self._np, self._slots, self._mask
        pos = (held & np.uint64(mask)).astype(np.int64)  # the tag's low bits: the home slot
        while len(held):
            empty = slots[pos] == 0
            claims, claimed = held[empty], pos[empty]
            slots[claimed] = claims  # of the claims of one slot, one lands
            won = np.zeros(len(held), bool)
            won[np.flatnonzero(empty)[slots[claimed] == claims]] = True
            held, pos = held[~won], (pos[~won] + 1) & mask
