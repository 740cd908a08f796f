"""The duplicate index: the exact dict, the fingerprint table past its threshold, and the two agree."""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from listguard.verification import Verification, VerifyOptions, duplicates
from listguard.verification.duplicates import AddressIndex, FingerprintTable, Repeats

Blocks = list[list[str]]


def reference_repeats(blocks: Blocks) -> list[Repeats]:
    """What the index must say: each row whose address came before, with that address's first row."""
    first_row_of: dict[str, int] = {}
    answers, row = [], 1
    for keys in blocks:
        repeats = []
        for i, key in enumerate(keys):
            if key and first_row_of.setdefault(key, row + i) != row + i:
                repeats.append((i, first_row_of[key]))
        answers.append(repeats)
        row += len(keys)
    return answers


def index_repeats(index: AddressIndex | FingerprintTable, blocks: Blocks) -> list[Repeats]:
    answers, row = [], 1
    for keys in blocks:
        answers.append(index.add_block(keys, row))
        row += len(keys)
    return answers


# Few distinct addresses, so that blocks repeat each other and themselves; "" is a row without one.
_keys = st.sampled_from(["", "ann@acme.io", "bob@acme.io", "zoë@exämple.de", "x@y.co", "ann@acme.iO"])
_blocks = st.lists(st.lists(_keys, max_size=12), max_size=8)


@given(blocks=_blocks, exact_max=st.sampled_from([0, 1, 3, 1 << 20]))
def test_the_index_finds_every_repeat_with_its_first_row(blocks: Blocks, exact_max: int) -> None:
    # Given blocks of rows, and an index that moves to fingerprints after a few addresses (or never)
    index = AddressIndex(exact_max=exact_max)
    # When the blocks are added in file order
    answers = index_repeats(index, blocks)
    # Then each later row of an address is a repeat of its first row, and rows without one never are
    assert answers == reference_repeats(blocks)


def test_the_index_moves_to_fingerprints_past_its_threshold_and_keeps_the_first_rows() -> None:
    # Given an index that holds three addresses exactly
    index = AddressIndex(exact_max=3, file_bytes=1_000)
    # When a block of four new addresses comes, then a block that repeats them
    assert index.add_block(["a@x.io", "b@x.io", "", "c@x.io", "d@x.io"], 1) == []
    assert not index.exact
    repeats = index.add_block(["d@x.io", "e@x.io", "a@x.io", "e@x.io"], 6)
    # Then the repeats name the rows the addresses first came on, before and after the move
    assert repeats == [(0, 5), (2, 1), (3, 7)]


def test_a_large_file_grows_the_table_and_loses_no_address() -> None:
    # Given more addresses than the first slots and the reserved entries hold (no file size known)
    index = AddressIndex(exact_max=1_000)
    addresses = [f"user{n}@acme.io" for n in range(200_000)]
    blocks = [addresses[start : start + 17_000] for start in range(0, len(addresses), 17_000)]
    assert all(repeats == [] for repeats in index_repeats(index, blocks))
    # When every address comes again, in another order
    again = addresses[::-7] + addresses
    repeats = index.add_block(again, len(addresses) + 1)
    # Then each one is a repeat of its own first row
    row_of = {address: row for row, address in enumerate(addresses, start=1)}
    assert repeats == [(i, row_of[address]) for i, address in enumerate(again)]


def test_the_table_costs_at_most_34_bytes_an_address() -> None:
    # Given a table of 300,000 addresses
    table = FingerprintTable(expected=300_000)
    table.add_block([f"{n}@x.io" for n in range(300_000)], 1)
    # Then its memory (entries and slots) is 12 bytes an address, and 8 a slot at least a 3/8 full
    assert len(table) == 300_000
    assert table.nbytes / len(table) <= 12 + 8 / 0.375


class _ChosenFingerprints(FingerprintTable):
    """A table whose fingerprints the test chooses, to make different addresses meet."""

    def __init__(self, chosen: dict[str, tuple[int, int]]) -> None:
        super().__init__()
        self.chosen = chosen

    def fingerprints(self, keys: list[str]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint32]]:
        fp1 = np.array([self.chosen[key][0] for key in keys], np.uint64)
        fp2 = np.array([self.chosen[key][1] for key in keys], np.uint32)
        return fp1, fp2


def test_addresses_that_share_a_home_slot_or_a_tag_or_64_bits_stay_apart() -> None:
    # Given addresses whose fingerprints meet: the same home slot, the same tag (high half), the
    # same 64 bits with another 32, and one whose slot is the last (its probe wraps around)
    home = 0x0000_0007_0000_0005  # tag 7 (home slot 7), low half 5
    table = _ChosenFingerprints(
        {
            "a@x.io": (home, 1),
            "same-home@x.io": (0x0001_0007_0000_0005, 1),  # another tag, the same home slot
            "same-tag@x.io": (0x0000_0007_0000_0009, 1),  # the same tag, another low half
            "same-64-bits@x.io": (home, 2),
            "last-slot@x.io": (0x0000_FFFF_0000_0001, 1),
            "wraps@x.io": (0x0001_FFFF_0000_0001, 1),
        }
    )
    # When they come one block each, then all again
    keys = list(table.chosen)
    for row, key in enumerate(keys, start=1):
        assert table.add_block([key], row) == []
    repeats = table.add_block(keys[::-1], len(keys) + 1)
    # Then none was taken for another, and each is found again
    assert repeats == [(i, len(keys) - i) for i in range(len(keys))]


def test_within_a_block_the_earliest_row_of_an_address_is_its_first() -> None:
    # Given a block whose addresses share home slots, and one that repeats
    table = _ChosenFingerprints({"a@x.io": (0x0000_0003_0000_0001, 1), "b@x.io": (0x0001_0003_0000_0001, 1)})
    # When added at once
    repeats = table.add_block(["b@x.io", "a@x.io", "b@x.io", "a@x.io", "a@x.io"], 10)
    # Then the later rows repeat the earliest of their own address
    assert repeats == [(2, 10), (3, 11), (4, 11)]


def _contact_file(rows: int) -> bytes:
    lines = ["email,name"]
    for n in range(rows):
        if n % 7 == 3:
            lines.append(f"USER{n // 3}@Acme.io,an earlier row again,")  # a duplicate, maybe blocks back
        elif n % 11 == 5:
            lines.append(f"bad{n}@@acme.io,invalid")
        else:
            lines.append(f"user{n}@acme.io,Person {n}")
    return ("\n".join(lines) + "\n").encode()


def test_the_check_gives_the_same_rows_and_report_past_the_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a file of several blocks with duplicates across them
    data = _contact_file(100_000)

    def check() -> tuple[list[tuple[object, ...]], dict[str, object]]:
        verification = Verification(io.BytesIO(data), options=VerifyOptions(), size=len(data))
        rows = [tuple(row) for batch in verification.batches() for row in batch]
        return rows, verification.report().model_dump()

    # When it is checked with the exact index, and with one that moves to fingerprints early
    exact = check()
    monkeypatch.setattr(duplicates, "EXACT_INDEX_MAX", 1_000)
    blocks_fingerprinted = []
    add_block = FingerprintTable.add_block

    def spy(self: FingerprintTable, keys: list[str], first_row: int) -> Repeats:
        blocks_fingerprinted.append(first_row)
        return add_block(self, keys, first_row)

    monkeypatch.setattr(FingerprintTable, "add_block", spy)
    fingerprinted = check()
    # Then every row (verdict and reason, "same address as row N") and the report are the same
    assert len(blocks_fingerprinted) >= 2
    assert fingerprinted == exact
    assert exact[1]["verdicts"]["duplicate"] > 5_000  # type: ignore[index]
