"""What an address's parts say about it: disposable domains, role accounts and typo domains."""

from __future__ import annotations

from functools import lru_cache

from disposable_email_domains import blocklist as _DISPOSABLE_DOMAINS

#: Team mailboxes rather than people (RFC 2142 and common practice). Compared on the local part,
#: lower-cased, without any ``+tag``.
ROLE_LOCAL_PARTS = frozenset(
    [
        "abuse",
        "accounting",
        "accounts",
        "admin",
        "administrator",
        "all",
        "billing",
        "careers",
        "compliance",
        "contact",
        "contactus",
        "customercare",
        "customerservice",
        "devnull",
        "dns",
        "do-not-reply",
        "donotreply",
        "enquiries",
        "enquiry",
        "everyone",
        "feedback",
        "ftp",
        "hello",
        "help",
        "helpdesk",
        "hostmaster",
        "hr",
        "info",
        "information",
        "inquiries",
        "inquiry",
        "it",
        "jobs",
        "legal",
        "list",
        "list-request",
        "mail",
        "mailer-daemon",
        "marketing",
        "media",
        "news",
        "newsletter",
        "no-reply",
        "noc",
        "noreply",
        "null",
        "office",
        "orders",
        "postmaster",
        "press",
        "privacy",
        "recruiting",
        "remove",
        "root",
        "sales",
        "security",
        "service",
        "spam",
        "staff",
        "subscribe",
        "support",
        "sysadmin",
        "team",
        "tech",
        "undisclosed-recipients",
        "unsubscribe",
        "usenet",
        "uucp",
        "webmaster",
        "www",
    ]
)

#: The big mailbox providers whose typos are worth catching.
MAILBOX_PROVIDERS = [
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "live.com",
    "msn.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "comcast.net",
    "verizon.net",
    "att.net",
    "sbcglobal.net",
    "bellsouth.net",
    "cox.net",
    "charter.net",
    "earthlink.net",
    "optonline.net",
    "protonmail.com",
    "proton.me",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "t-online.de",
    "yahoo.co.uk",
    "yahoo.fr",
    "yahoo.de",
    "yahoo.es",
    "yahoo.it",
    "yahoo.ca",
    "hotmail.co.uk",
    "hotmail.fr",
    "hotmail.de",
    "hotmail.it",
    "hotmail.es",
    "live.co.uk",
    "live.fr",
    "outlook.fr",
    "orange.fr",
    "free.fr",
    "laposte.net",
    "wanadoo.fr",
    "sfr.fr",
    "libero.it",
    "yandex.ru",
    "mail.ru",
    "btinternet.com",
    "bigpond.com",
    "ymail.com",
    "rocketmail.com",
    "zoho.com",
    "naver.com",
    "qq.com",
    "163.com",
]

#: Real domains that sit one edit away from a provider: never reported as typos.
KNOWN_REAL_DOMAINS = frozenset(
    [
        *MAILBOX_PROVIDERS,
        "mail.com",
        "email.com",
        "gmx.at",
        "gmx.ch",
        "gmx.fr",
        "gmx.us",
        "hotmail.ca",
        "hotmail.be",
        "hotmail.nl",
        "hotmail.se",
        "hotmail.com.br",
        "hotmail.com.ar",
        "hotmail.co.jp",
        "live.ca",
        "live.nl",
        "live.be",
        "live.it",
        "live.de",
        "live.se",
        "live.dk",
        "live.no",
        "live.at",
        "live.com.au",
        "live.ie",
        "outlook.de",
        "outlook.es",
        "outlook.it",
        "outlook.jp",
        "outlook.com.br",
        "outlook.be",
        "outlook.ie",
        "outlook.at",
        "outlook.dk",
        "outlook.sa",
        "yahoo.in",
        "yahoo.co.in",
        "yahoo.co.jp",
        "yahoo.com.br",
        "yahoo.com.ar",
        "yahoo.com.mx",
        "yahoo.com.au",
        "yahoo.co.nz",
        "yahoo.gr",
        "yahoo.se",
        "yahoo.ie",
        "yahoo.dk",
        "yahoo.no",
        "yahoo.pl",
        "yahoo.ro",
        "yahoo.be",
        "yahoo.nl",
        "yahoo.at",
        "yahoo.ch",
        "yahoo.cn",
        "yahoo.com.sg",
        "yahoo.com.hk",
        "yahoo.com.tw",
        "yahoo.com.ph",
        "yahoo.co.id",
        "yahoo.com.vn",
        "yahoo.co.za",
        "aol.co.uk",
        "aol.fr",
        "aol.de",
        "aim.com",
        "icloud.fr",
        "me.fr",
        "mac.fr",
        "msn.fr",
        "cox.com",
        "att.com",
        "verizon.com",
        "comcast.com",
        "gmail.de",
        "web.com",
        "mail.de",
        "free.com",
        "orange.com",
        "orange.net",
        "orange.pl",
        "laposte.fr",
        "libero.com",
        "naver.net",
        "yandex.com",
        "yandex.ua",
        "yandex.by",
        "yandex.kz",
        "ya.ru",
        "inbox.ru",
        "list.ru",
        "bk.ru",
        "charter.com",
        "earthlink.com",
        "proton.ch",
        "zoho.eu",
        "zohomail.com",
    ]
)

# Keys next to each other on a QWERTY keyboard: a slip of the finger lands on a neighbour.
_KEYBOARD_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS: dict[str, set[str]] = {}
for _row_index, _row in enumerate(_KEYBOARD_ROWS):
    for _column, _key in enumerate(_row):
        _near = _NEIGHBOURS.setdefault(_key, set())
        for _other_index in (_row_index - 1, _row_index, _row_index + 1):
            if 0 <= _other_index < len(_KEYBOARD_ROWS):
                _near.update(_KEYBOARD_ROWS[_other_index][max(0, _column - 1) : _column + 2])
        _near.discard(_key)

#: Providers whose name before the first dot is this short are matched on their TLD only: one edit
#: of ``me.com`` or ``aol.com`` is all too often somebody's real domain.
_MIN_NAME_FOR_EDITS = 5
_TLD_TYPOS = {
    "com": [
        "con",
        "cpm",
        "cim",
        "cok",
        "comm",
        "coom",
        "cmo",
        "ocm",
        "om",
        "cm",
        "vom",
        "xom",
        "c0m",
        "ccom",
        "copm",
        "conm",
        "cokm",
        "clm",
    ],
    "net": ["nte", "ent", "nt", "ne", "nett", "neet"],
}


def _one_edit_away(name: str) -> set[str]:
    """The typing slips of ``name``: one letter dropped, doubled, swapped with the next, or replaced
    or joined by a keyboard neighbour (or by a letter next to it in the name: yahoo -> yahho).

    The first letter is left alone (but for a swap): people type it with care, and an edit there
    mostly lands on a real domain of its own (icloud -> cloud, naver -> saver).
    """
    slips: set[str] = set()
    for i in range(len(name)):
        head, letter, tail = name[:i], name[i], name[i + 1 :]
        if i + 1 < len(name):
            slips.add(head + tail[0] + letter + tail[1:])  # swapped with the next letter
        if i == 0:
            continue
        nearby = _NEIGHBOURS.get(letter, set()) | {name[i - 1]} | ({tail[0]} if tail else set())
        slips.add(head + tail)  # dropped
        slips.add(head + letter + letter + tail)  # doubled
        slips.update(head + other + tail for other in nearby)  # replaced
        slips.update(head + other + letter + tail for other in _NEIGHBOURS.get(letter, ()))  # joined
    return slips - {"", name}


def _build_typo_table() -> dict[str, str]:
    """Typo domain -> provider. Edits touch the provider's name only (``yahho.com``): an edit of the
    country code mostly lands on the same provider's real national domain (``hotmail.dk``), so TLD
    typos come from a short list of known slips (``gmail.con``)."""
    table: dict[str, str] = {}
    for provider in MAILBOX_PROVIDERS:
        name, _, suffix = provider.partition(".")
        candidates = {f"{provider.rpartition('.')[0]}.{typo}" for typo in _TLD_TYPOS.get(suffix, ())}
        if len(name) >= _MIN_NAME_FOR_EDITS:
            candidates |= {f"{edited}.{suffix}" for edited in _one_edit_away(name)}
        for candidate in candidates - KNOWN_REAL_DOMAINS:
            # Some typo domains are also on the disposable list (gmial.com): that verdict wins, and the
            # correction still helps.
            table.setdefault(candidate, provider)
    return table


_TYPO_TABLE: dict[str, str] | None = None


def typo_correction(ascii_domain: str) -> str | None:
    """The provider domain this one is a typo of (``yahho.com`` -> ``yahoo.com``), or None."""
    global _TYPO_TABLE
    if _TYPO_TABLE is None:  # built on first use: ~0.1 s, not paid by code that never asks
        _TYPO_TABLE = _build_typo_table()
    return _TYPO_TABLE.get(ascii_domain)


@lru_cache(maxsize=100_000)
def is_disposable(ascii_domain: str) -> bool:
    """A throwaway-mailbox domain, or a subdomain of one (disposable-email-domains' list)."""
    parts = ascii_domain.split(".")
    return any(".".join(parts[i:]) in _DISPOSABLE_DOMAINS for i in range(len(parts) - 1))


def is_role_account(local_part: str) -> bool:
    """``info@``, ``admin@``, ``postmaster@``...: a team mailbox, not a person who opted in."""
    return local_part.lower().partition("+")[0] in ROLE_LOCAL_PARTS
