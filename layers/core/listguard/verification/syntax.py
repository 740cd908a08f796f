"""Address syntax, exactly as email-validator decides it, but fast on the common ASCII case.

email-validator is the reference: ``validate_email(addr, check_deliverability=False)`` under its
default options. The fast path below only ever *accepts*, and only what email-validator accepts
(a differential property test holds it to that); everything else goes to email-validator itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress, repeat
from operator import gt

import email_validator
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import ATEXT, EMAIL_MAX_LENGTH
from email_validator.syntax import validate_email_domain_name

#: An unquoted ASCII dot-atom local part, one @, and an ASCII hostname-shaped domain, 254 characters
#: at most. email-validator accepts such a local part as is (non-strict mode checks no local-part
#: length); the domain must still pass its domain rules, decided once per domain below.
#: Groups: 1 = local part, 2 = domain.
FAST_ADDRESS = re.compile(
    rf"(?=.{{1,{EMAIL_MAX_LENGTH}}}\Z)([{ATEXT}]+(?:\.[{ATEXT}]+)*)@([A-Za-z0-9.\-]+)", re.DOTALL
)
_fast_address = FAST_ADDRESS.fullmatch
# The same shape for a run of addresses, one per line. Possessive quantifiers change nothing here (each
# character class stops at the character that follows it) and never backtrack.
_FAST_ADDRESS_LINES = re.compile(rf"(?:[{ATEXT}]++(?:\.[{ATEXT}]++)*+@[A-Za-z0-9.\-]++\n)*+")

# A plain ASCII host name that email-validator accepts unchanged (apart from case): labels of letters,
# digits and inner hyphens of at most 63 characters, a dot, an alphabetic TLD. "--" anywhere (Punycode
# "xn--" labels, the reserved "ab--" form) and special-use names go to email-validator instead.
_PLAIN_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", re.IGNORECASE).fullmatch
_DOMAIN_MAX_LENGTH = 253
# email-validator's special-use names (read once: nothing here changes them), as one C-level suffix test.
_SPECIAL_USE = frozenset(email_validator.SPECIAL_USE_DOMAIN_NAMES)
_SPECIAL_USE_SUFFIXES = tuple("." + name for name in _SPECIAL_USE)


@dataclass(frozen=True, slots=True)
class SyntaxResult:
    """A syntax verdict: valid or not, why not, and the parts later rules look at."""

    valid: bool
    message: str = ""
    local_part: str = ""
    #: The domain as IDNA ASCII, lower case: what the domain rules (disposable, typo) compare.
    ascii_domain: str = ""


@lru_cache(maxsize=200_000)
def fast_domain(domain: str) -> str | None:
    """The lower-cased domain when email-validator accepts it unchanged in length, else None.

    Normalisation can change a domain's length (IDNA ``xn--`` labels become Unicode), which would
    change the address-length rule; such domains are left to email-validator.
    """
    if "." not in domain or domain.startswith(".") or domain.endswith(".") or ".." in domain:
        # An ASCII domain (all the fast path sees) with an empty label or no dot at all: email-validator
        # rejects it (``gmail.com.``, ``gmail``). Undecided here, it skips that domain check, which
        # costs ~25 us when it fails; the address goes to email-validator whole anyway.
        return None
    if len(domain) <= _DOMAIN_MAX_LENGTH and "--" not in domain and _PLAIN_DOMAIN(domain):
        ascii_domain = domain.lower()
        if ascii_domain not in _SPECIAL_USE and not ascii_domain.endswith(_SPECIAL_USE_SUFFIXES):
            return ascii_domain
    try:
        info = validate_email_domain_name(domain, test_environment=False, globally_deliverable=True)
    except EmailNotValidError:
        return None
    ascii_domain = info["ascii_domain"]
    if len(ascii_domain) != len(domain) or info["domain"] != ascii_domain:
        # Its normal form is another text (an "xn--" label is Unicode there): the address's length
        # and its identity (``normalize_address``) are not those of the text as written.
        return None
    return ascii_domain


def fast_check(address: str) -> tuple[str, str] | None:
    """``(local_part, ascii_domain)`` when the fast path proves the address valid; else None (undecided)."""
    match = _fast_address(address)
    if match is None:
        return None
    local, domain = match.groups()
    ascii_domain = fast_domain(domain)
    if ascii_domain is None:
        return None
    return local, ascii_domain


def not_fast_addresses(addresses: list[str], joined: str) -> list[int]:
    """Indices of the addresses the fast path cannot accept by shape and length (domains aside).

    ``joined``: the addresses, each followed by a line break, any line break inside one replaced by
    a character the fast path refuses. One regular-expression match runs over it and stops only at
    the lines it cannot take: C-level work, no Python call per address (twice as fast as a
    ``fullmatch`` each).
    """
    rejected: set[int] = set()
    if max(map(len, addresses), default=0) > EMAIL_MAX_LENGTH:  # rare: a second pass finds them
        too_long = map(gt, map(len, addresses), repeat(EMAIL_MAX_LENGTH))
        rejected.update(compress(range(len(addresses)), too_long))
    match_run, end = _FAST_ADDRESS_LINES.match, len(joined)
    position = line = 0
    while True:
        run = match_run(joined, position)
        assert run is not None  # the pattern matches the empty string
        stop = run.end()
        line += joined.count("\n", position, stop)
        if stop >= end:
            return sorted(rejected)
        rejected.add(line)
        position = joined.index("\n", stop) + 1
        line += 1


# Invalid addresses repeat ("n/a", "unknown", the same typo on several rows): same string, same verdict.
@lru_cache(maxsize=1 << 16)
def full_check(address: str) -> SyntaxResult:
    """The reference: email-validator's own verdict, with its message when the address is invalid."""
    try:
        info = validate_email(address, check_deliverability=False)
    except EmailNotValidError as error:
        return SyntaxResult(valid=False, message=str(error))
    return SyntaxResult(
        valid=True, local_part=info.local_part or "", ascii_domain=(info.ascii_domain or "").lower()
    )


def check_syntax(address: str) -> SyntaxResult:
    """One address: the fast path when it can decide, email-validator otherwise."""
    fast = fast_check(address)
    if fast is not None:
        return SyntaxResult(valid=True, local_part=fast[0], ascii_domain=fast[1])
    return full_check(address)


def is_valid(address: str) -> bool:
    """True exactly when email-validator's ``validate_email(address, check_deliverability=False)`` passes."""
    return check_syntax(address).valid
