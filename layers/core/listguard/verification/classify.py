"""The per-row rules, in the vocabulary's precedence, applied a block of rows at a time.

Two stages, so that the first can run in worker processes:

1. ``RowScreen.screen`` gives every row of a block its verdict *as if it had no duplicate*. It keeps no
   state across blocks (only caches). A screen of C-level passes (``map``, ``compress``) over whole
   columns proves most rows valid; only the rows it cannot clear (a few percent) go through the
   per-row rules in Python. Both see the same facts, so the verdicts are those of the rules alone.
2. ``FileOrder.resolve`` walks the blocks in file order and turns later occurrences of an address
   into ``duplicate`` (``duplicates.AddressIndex``). Duplicate outranks every verdict but
   malformed_row and invalid_syntax, and only rows of valid syntax have an address to repeat, so the
   override is exact. Then, given a blocklist lookup instead of (or beside) the set, it asks the
   lookup about the rows left whose verdict blocklisted outranks, and overrides those it names.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress, repeat
from operator import gt, is_, itemgetter

from email_validator import EmailNotValidError
from email_validator.syntax import validate_email_domain_name

from .domains import ROLE_LOCAL_PARTS, is_disposable, is_own_domain, is_role_account, typo_correction
from .duplicates import AddressIndex
from .model import Batch, Verdict
from .reader import MAX_ROW_CHARS, Records
from .syntax import check_syntax, fast_domain, not_fast_addresses

#: Values of a consent column that do not record an opt-in (an empty cell does not either).
NO_CONSENT_VALUES = frozenset(
    ["0", "false", "no", "n", "f", "off", "none", "null", "unsubscribed", "optout", "opt-out"]
)

# What the screen knows of a domain: rows on a CLEAN domain need no domain rule; rows on a RULES
# domain do (disposable, typo); on an UNDECIDED one even the syntax is left to email-validator.
_CLEAN, _RULES, _UNDECIDED = 0, 1, 2

#: Why a row over the length limit is malformed (it names the limit, never the row's content).
OVERLONG_REASON = (
    f"the row is longer than {MAX_ROW_CHARS:,} characters, the limit of a row (is a quoted field left open?)"
)

#: The key of a row that has no address (malformed, invalid): never a first occurrence.
_NO_ADDRESS = ""


def normalize_address(address: str) -> str:
    """The identity of a contact (duplicates, the blocklist and the contact's key all compare it).

    Trimmed; the domain as email-validator normalises it (IDNA: ``bob@xn--exmple-cua.com`` and
    ``bob@EXÄMPLE.com`` are both ``bob@exämple.com``); the local part NFC-normalised (as
    email-validator does) and case-folded (mailbox providers ignore case; listguard does too).
    """
    address = address.strip()
    if address.isascii():
        lowered = address.lower()  # NFC is the identity on ASCII, and casefold is lower()
        if "xn--" not in lowered:
            return lowered  # a plain ASCII domain is its own IDNA form, lower-cased
        local, at, domain = lowered.rpartition("@")
    else:
        local, at, domain = address.rpartition("@")
        local = unicodedata.normalize("NFC", local).casefold()
    if not at:
        return unicodedata.normalize("NFC", address).casefold()
    return f"{local}@{_domain_identity(domain)}"


@lru_cache(maxsize=1 << 16)
def _domain_identity(domain: str) -> str:
    """The domain in email-validator's normal form (Unicode, lower case), decided once per domain."""
    try:
        return str(validate_email_domain_name(domain)["domain"])
    except EmailNotValidError:  # not a domain email-validator accepts: no address of it is valid
        return unicodedata.normalize("NFC", domain).casefold()


@dataclass(frozen=True, slots=True)
class Screened:
    """One block's verdicts before duplicates: the exceptions to ``valid``, and each row's address key."""

    emails: list[str]
    keys: list[str]  # normalised address, or "" for rows without a valid address
    exceptions: list[tuple[int, Verdict, str, str]]  # (index in block, verdict, reason, suggestion)

    def __reduce__(self) -> tuple[object, ...]:
        # Sent back from worker processes: a list of strings pickles and unpickles at ~150 ns a
        # string, one string joined from them at memory speed (joining and splitting cost ~100 ns).
        return _unpickle_screened, (_joined(self.emails), _joined(self.keys), self.exceptions)


def _joined(values: list[str]) -> str | list[str]:
    """The values joined by line breaks, or the list itself when a value holds one (or none is there)."""
    joined = "\n".join(values)
    return joined if values and joined.count("\n") == len(values) - 1 else values


def _unpickle_screened(
    emails: str | list[str], keys: str | list[str], exceptions: list[tuple[int, Verdict, str, str]]
) -> Screened:
    def split(values: str | list[str]) -> list[str]:
        return values.split("\n") if isinstance(values, str) else values

    return Screened(split(emails), split(keys), exceptions)


class RowScreen:
    """Everything about a row that does not depend on the rows before it."""

    def __init__(
        self,
        *,
        email_index: int,
        columns: int,
        consent_index: int | None,
        consent_column: str | None,
        require_consent: bool,
        blocklist: frozenset[str],
        own_domains: frozenset[str] = frozenset(),
    ) -> None:
        self.email_index = email_index
        self.columns = columns
        self.consent_index = consent_index
        self.require_consent = require_consent
        self.consent_reason = (
            "the account requires an opt-in column and the file has none"
            if consent_column is None
            else f"no opt-in recorded in '{consent_column}'"
        )
        self.blocklist = frozenset(normalize_address(address) for address in blocklist)
        #: The account's own domains (normalised): never disposable nor a typo.
        self.own_domains = own_domains
        #: Per domain as written: what the screen knows of it (see ``_domain_state``).
        self.domain_state: dict[str | None, int] = {}

    def __getstate__(self) -> dict[str, object]:  # sent to worker processes without the cache
        return {**self.__dict__, "domain_state": {}}

    def screen(self, records: Records) -> Screened:
        n = len(records)
        indices = range(n)
        email_index, columns = self.email_index, self.columns
        lengths = records.field_counts()
        emails = records.column(email_index, lengths)
        # The addresses as one text, one a line: a C-level pass over it replaces a call per address.
        # An address with a line break (never a fast one) has it blanked out here.
        text = "\n".join(emails) + "\n"
        if text.count("\n") != n:
            text = "".join(email.replace("\n", " ") + "\n" for email in emails)
        # The identity of an ASCII address is its lower case (keys of other rows are set below).
        # Lower-casing the whole text at once is exact on ASCII text only (a final sigma is not).
        keys = text.lower().split("\n") if text.isascii() else list(map(str.lower, text.split("\n")))
        keys.pop()  # after the last line break
        # (The partitions are not kept: a list of 3-tuples costs twice as much as taking the domain.)
        domains: list[str | None] = list(map(itemgetter(2), map(str.partition, keys, repeat("@"))))
        for i in not_fast_addresses(emails, text):
            domains[i] = None  # its syntax is email-validator's to decide
        domain_state = self.domain_state
        states = list(map(domain_state.get, domains))
        for i in compress(indices, map(is_, states, repeat(None))):
            domain = domains[i]
            if domain is None:
                states[i] = _UNDECIDED
                continue
            state = domain_state.get(domain)  # a new domain may repeat within the block
            if state is None:
                state = domain_state[domain] = _domain_state(domain, self.own_domains)
            states[i] = state

        needs_rules = set(compress(indices, states))  # a few percent of the rows: sorted out in Python
        needs_syntax = {i for i in needs_rules if states[i] == _UNDECIDED}
        if max(lengths, default=0) > columns:  # rare: one pass finds the max, another the rows
            needs_syntax.update(compress(indices, map(gt, lengths, repeat(columns))))
        needs_rules |= needs_syntax
        if self.blocklist:
            needs_rules.update(compress(indices, map(self.blocklist.__contains__, keys)))
        # Role accounts: the local part is a role name; a +tag sends the row to the rules (a "+" in
        # the domain too, but such an address is not fast, so its row is there already). Both are
        # rare: searched for in the keys' text, not looked for in every key.
        keys_text = "\n" + "\n".join(keys) + "\n"
        needs_rules.update(_lines_at(keys_text, (match.end() for match in _ROLE_KEY.finditer(keys_text))))
        needs_rules.update(_lines_at(keys_text, _positions_of("+", keys_text)))
        if self.require_consent:
            needs_rules.update(compress(indices, map(self._lacks_consent, records.fields)))

        # Rows over the length limit were never split: no address, no rule but this one.
        exceptions: list[tuple[int, Verdict, str, str]] = [
            (i, Verdict.MALFORMED_ROW, OVERLONG_REASON, "") for i in records.overlong
        ]
        needs_rules.difference_update(records.overlong)
        for i in records.overlong:
            keys[i] = _NO_ADDRESS
        for i in sorted(needs_rules):
            fields = records.record(i)
            fast = states[i] != _UNDECIDED
            problem, parts = self._syntax_or_shape(fields, emails[i], fast)
            if problem is not None:
                exceptions.append((i, *problem, ""))
                keys[i] = _NO_ADDRESS
                continue
            assert parts is not None
            if not fast:
                keys[i] = normalize_address(emails[i])
            verdict, reason, suggestion = self._rules(fields, *parts, keys[i])
            if verdict is not Verdict.VALID:
                exceptions.append((i, verdict, reason, suggestion))
        return Screened(emails, keys, exceptions)

    def _syntax_or_shape(
        self, fields: list[str], email: str, fast: bool
    ) -> tuple[tuple[Verdict, str] | None, tuple[str, str] | None]:
        """``((verdict, reason), None)`` if the row is no contact, else ``(None, (local, ASCII domain))``.

        ``fast``: the screen proved the address valid (fast syntax path, known-good domain).
        """
        if len(fields) <= self.email_index or (len(fields) > self.columns and any(fields[self.columns :])):
            return (Verdict.MALFORMED_ROW, self._shape_problem(fields)), None
        if fast:
            local, _, domain = email.partition("@")
            return None, (local, domain.lower())
        if not email:
            return (Verdict.INVALID_SYNTAX, "the email cell is empty"), None
        if "\ufffd" in email:
            return (
                Verdict.MALFORMED_ROW,
                "the row holds bytes that are not valid in the file's encoding",
            ), None
        checked = check_syntax(email)
        if not checked.valid:
            return (Verdict.INVALID_SYNTAX, checked.message), None
        return None, (checked.local_part, checked.ascii_domain)

    def _rules(self, fields: list[str], local: str, ascii_domain: str, key: str) -> tuple[Verdict, str, str]:
        """``(verdict, reason, suggestion)`` of an address of valid syntax, duplicates aside."""
        if key in self.blocklist:
            return Verdict.BLOCKLISTED, BLOCKLISTED_REASON, ""
        own = is_own_domain(ascii_domain, self.own_domains)
        correction = None if own else typo_correction(ascii_domain)
        suggestion = f"{local}@{correction}" if correction else ""
        if not own and is_disposable(ascii_domain):
            return Verdict.DISPOSABLE, f"{ascii_domain} is a disposable-mailbox domain", suggestion
        if is_role_account(local):
            return Verdict.ROLE_ACCOUNT, f"{local}@ is a team mailbox, not a person", ""
        if correction:
            return Verdict.TYPO_DOMAIN, f"{ascii_domain} looks like a typo of {correction}", suggestion
        if self.require_consent and self._lacks_consent(fields):
            return Verdict.MISSING_CONSENT, self.consent_reason, ""
        return Verdict.VALID, "", ""

    def _lacks_consent(self, fields: list[str]) -> bool:
        index = self.consent_index
        if index is None:
            return True
        value = fields[index].strip().lower() if index < len(fields) else ""
        return not value or value in NO_CONSENT_VALUES

    def _shape_problem(self, fields: list[str]) -> str:
        if len(fields) <= self.email_index:
            return (
                f"the row has {len(fields)} field(s) and no email cell (the email column is "
                f"column {self.email_index + 1}); check for a missing separator"
            )
        return (
            f"the row has {len(fields)} fields but the header has {self.columns}; "
            "check for an unquoted separator inside a value"
        )


def _trie_pattern(words: Iterable[str]) -> str:
    """A regular expression for exactly these words, shaped as a trie (its one-way runs merged).

    The engine tries the alternatives of a group one by one: as a trie it compares a character with
    the ~30 first characters instead of each of the ~1,000 role prefixes (over the keys' text, 20 times
    faster than a flat alternation). A run of letters with one way on is one literal, not a group per
    letter: the pattern compiles 2.5 times faster (7 ms, once per process).
    """
    words = list(words)
    rests: dict[str, list[str]] = {}
    for word in words:
        if word:
            rests.setdefault(word[0], []).append(word[1:])
    branches = []
    for first, rest in sorted(rests.items()):
        run = first
        while rest and all(rest) and len({word[0] for word in rest}) == 1:
            run += rest[0][0]
            rest = [word[1:] for word in rest]
        branches.append(re.escape(run) + _trie_pattern(rest))
    if not branches:
        return ""
    if len(branches) == 1 and "" not in words:
        return branches[0]
    group = "(?:" + "|".join(branches) + ")"
    return group + "?" if "" in words else group


# A key whose local part is a role name, at the start of its line in the keys' text.
_ROLE_KEY = re.compile("\n" + _trie_pattern(ROLE_LOCAL_PARTS) + "(?=[@\n])")


def _positions_of(char: str, text: str) -> Iterator[int]:
    position = text.find(char)
    while position >= 0:
        yield position
        position = text.find(char, position + 1)


def _lines_at(text: str, positions: Iterable[int]) -> Iterator[int]:
    """The line of each position (ascending, each within a line) of a text that starts with a line break."""
    line, start = -1, 0
    for position in positions:
        line += text.count("\n", start, position)
        start = position
        yield line


def _domain_state(domain: str, own_domains: frozenset[str]) -> int:
    ascii_domain = fast_domain(domain)
    if ascii_domain is None:
        return _UNDECIDED
    if is_own_domain(ascii_domain, own_domains):
        return _CLEAN
    if is_disposable(ascii_domain) or typo_correction(ascii_domain) is not None:
        return _RULES
    return _CLEAN


_OUTRANK_DUPLICATE = frozenset({Verdict.MALFORMED_ROW, Verdict.INVALID_SYNTAX})

#: Why a row is blocklisted (the same words whether the set or the lookup found it).
BLOCKLISTED_REASON = "on the account's blocklist"

#: The most addresses one call of a blocklist lookup is given (a block holds 10,000 to 100,000 rows).
BLOCKLIST_LOOKUP_MAX = 5_000

#: A lookup of the account's blocklist: given normalised addresses (``normalize_address``, each once,
#: at most ``BLOCKLIST_LOOKUP_MAX``), it returns those of them that are blocklisted (any others it
#: returns are ignored).
BlocklistLookup = Callable[[Sequence[str]], Iterable[str]]


class FileOrder:
    """The file-order stage: row numbers, duplicates, the blocklist lookup, and the running counts."""

    def __init__(
        self, *, file_bytes: int | None = None, blocklist_lookup: BlocklistLookup | None = None
    ) -> None:
        self.index = AddressIndex(file_bytes=file_bytes)
        self.counts: Counter[Verdict] = Counter()
        self.rows = 0
        self._lookup = blocklist_lookup

    def resolve(self, screened: Screened, records: Records) -> Batch:
        emails, keys = screened.emails, screened.keys
        n = len(emails)
        rows = range(self.rows + 1, self.rows + 1 + n)
        self.rows += n
        verdicts = [Verdict.VALID] * n
        reasons = [""] * n
        suggestions = [""] * n
        for i, verdict, reason, suggestion in screened.exceptions:
            verdicts[i], reasons[i], suggestions[i] = verdict, reason, suggestion
        # The rows whose verdict is not valid: the screen's exceptions, then duplicates, then rows
        # the lookup finds blocklisted (a row may be in more than one: counted once, at its end).
        changed = {i for i, *_ in screened.exceptions}
        duplicates: list[int] = []
        for i, first_row in self.index.add_block(keys, rows.start):
            if verdicts[i] not in _OUTRANK_DUPLICATE:
                verdicts[i], reasons[i], suggestions[i] = (
                    Verdict.DUPLICATE,
                    f"same address as row {first_row}",
                    "",
                )
                duplicates.append(i)
        changed.update(duplicates)
        if self._lookup is not None:
            for i in self._blocklisted(keys, verdicts, duplicates):
                verdicts[i], reasons[i], suggestions[i] = Verdict.BLOCKLISTED, BLOCKLISTED_REASON, ""
                changed.add(i)
        counts = self.counts
        for i in changed:
            counts[verdicts[i]] += 1
        counts[Verdict.VALID] += n - len(changed)
        return Batch(rows, emails, verdicts, reasons, suggestions, records)

    def _blocklisted(self, keys: list[str], verdicts: list[Verdict], duplicates: list[int]) -> list[int]:
        """The rows the lookup finds blocklisted, among those whose verdict it can still change.

        Blocklisted outranks every verdict but malformed_row, invalid_syntax and duplicate: the rows
        that have an address (a valid syntax), are the first of it in the file, and are not
        blocklisted already. Each address is so looked up once in the whole file.
        """
        assert self._lookup is not None
        candidates = keys.copy()
        for i in duplicates:
            candidates[i] = _NO_ADDRESS
        for i in compress(range(len(keys)), map(is_, verdicts, repeat(Verdict.BLOCKLISTED))):
            candidates[i] = _NO_ADDRESS
        indices = list(compress(range(len(keys)), candidates))
        addresses = list(filter(None, candidates))
        blocklisted: list[int] = []
        for start in range(0, len(addresses), BLOCKLIST_LOOKUP_MAX):
            asked = addresses[start : start + BLOCKLIST_LOOKUP_MAX]
            found = set(self._lookup(asked))
            if found:
                blocklisted.extend(
                    compress(indices[start : start + BLOCKLIST_LOOKUP_MAX], map(found.__contains__, asked))
                )
        return blocklisted
