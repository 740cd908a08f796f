"""A realistic contact file for the benchmark: deterministic, generated in a few seconds, cached.

Mostly valid, unique addresses on big providers and many company domains, with the dirt real
imports carry: invalid syntax of several kinds, duplicates that differ in case or whitespace,
disposable and role addresses, typo domains, and quoted fields holding commas.
"""

from __future__ import annotations

import random
from pathlib import Path

#: Bump when the generator changes: the cached file is named after it.
GENERATOR_VERSION = 1
SEED = 20240602
HEADER = "email,first_name,last_name,country,opt_in,signup_date"

# Share of rows of each dirty kind (the rest are valid, unique addresses).
INVALID_SYNTAX_SHARE = 0.02
DUPLICATE_SHARE = 0.02
DISPOSABLE_SHARE = 0.01
ROLE_ACCOUNT_SHARE = 0.01
TYPO_DOMAIN_SHARE = 0.005
QUOTED_COMMA_SHARE = 0.002

FIRST_NAMES = (  # noqa: SIM905 (a list of words reads better as text)
    "james mary john patricia robert jennifer michael linda william elizabeth david barbara richard "
    "susan joseph jessica thomas sarah charles karen christopher lisa daniel nancy matthew betty "
    "anthony sandra mark ashley paul emily steven donna andrew michelle joshua carol kevin amanda "
    "brian melissa george deborah timothy stephanie lucas emma hugo lea louis chloe jonas mia felix "
    "anna mateo sofia noah olivia"
).split()
LAST_NAMES = (  # noqa: SIM905 (a list of words reads better as text)
    "smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez "
    "gonzalez wilson anderson thomas taylor moore jackson martin lee perez thompson white harris "
    "sanchez clark ramirez lewis robinson walker young allen king wright scott torres nguyen hill "
    "flores green adams nelson baker hall rivera campbell mitchell carter roberts muller schmidt "
    "schneider fischer dubois moreau laurent rossi russo ferrari kowalski novak"
).split()
COUNTRIES = ("US", "US", "US", "GB", "DE", "FR", "ES", "IT", "NL", "CA", "BR", "IN", "AU")
# (domain, weight): the big mailbox providers take about 60% of a typical B2C list.
PROVIDERS = (
    ("gmail.com", 30),
    ("yahoo.com", 8),
    ("hotmail.com", 6),
    ("outlook.com", 5),
    ("aol.com", 2),
    ("icloud.com", 3),
    ("gmx.de", 2),
    ("web.de", 1),
    ("orange.fr", 1),
    ("free.fr", 1),
    ("hotmail.co.uk", 1),
    ("yahoo.fr", 1),
)
PROVIDER_SHARE = 0.6
COMPANY_DOMAINS = 20_000
COMPANY_WORDS = (  # noqa: SIM905 (a list of words reads better as text)
    "acme blue river north star peak global micro data cloud green bright nova apex summit harbor "
    "pixel quantum iron silver maple cedar delta orbit vertex prime urban atlas lumen zen"
).split()
COMPANY_SUFFIXES = ("", "-labs", "-group", "-tech", "-consulting", "-logistics", "-media", "-health", "soft")
TLDS = ("com", "com", "com", "io", "net", "org", "de", "fr", "co.uk", "nl", "es")
DISPOSABLE_DOMAINS = (
    "mailinator.com",
    "guerrillamail.com",
    "10minutemail.com",
    "yopmail.com",
    "sharklasers.com",
)
ROLE_NAMES = ("info", "admin", "sales", "support", "contact", "office", "marketing", "noreply", "webmaster")
TYPO_DOMAINS = ("gmial.com", "gmal.com", "yahho.com", "yaho.com", "hotmial.com", "hotmal.com", "outlok.com")
LAST_NAMES_WITH_COMMA = ('"Smith, Jr."', '"Garcia, Sr."', '"Martin, III"')
COUNTRIES_WITH_COMMA = ('"Korea, Republic of"', '"Congo, Democratic Republic of the"')


def contact_file(directory: Path, rows: int) -> Path:
    """The cached file of ``rows`` data rows, generated on first use."""
    path = directory / f"contacts-{rows}-v{GENERATOR_VERSION}.csv"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        with open(partial, "w", encoding="utf-8", newline="") as out:
            out.write(HEADER + "\n")
            for chunk in _lines(rows):
                out.write(chunk)
        partial.replace(path)
    return path


def _company_domains(rng: random.Random) -> list[str]:
    return [
        f"{rng.choice(COMPANY_WORDS)}{rng.choice(COMPANY_WORDS)}{rng.choice(COMPANY_SUFFIXES)}{n % 97 or ''}"
        f".{rng.choice(TLDS)}"
        for n in range(COMPANY_DOMAINS)
    ]


def _local_part(rng: random.Random, first: str, last: str, serial: int) -> str:
    """A realistic local part; the serial keeps every generated address unique."""
    style = serial * 2654435761 % 5  # a cheap, well-spread style choice
    if style == 0:
        return f"{first}.{last}{serial}"
    if style == 1:
        return f"{first[0]}{last}{serial}"
    if style == 2:
        return f"{first}_{last}.{serial}"
    if style == 3:
        return f"{first}{serial}"
    return f"{last}.{first[0]}{serial}"


def _invalid_address(rng: random.Random, local: str, domain: str) -> str:
    kind = rng.randrange(9)
    if kind == 0:
        return f"{local}.{domain}"  # missing @
    if kind == 1:
        return f"{local.replace('.', ' ', 1) if '.' in local else local + ' x'}@{domain}"  # a space
    if kind == 2:
        return f"{local}..x@{domain}"  # double dot
    if kind == 3:
        return f"{local}@{domain}."  # trailing dot
    if kind == 4:
        return rng.choice(("n/a", "N/A", "none", "-", "unknown"))
    if kind == 5:
        return ""
    if kind == 6:
        return f"{local}@"
    if kind == 7:
        return f"{local}@@{domain}"
    return f"{local}@{domain.rsplit('.', 1)[0]}"  # no top-level domain


def _duplicate_of(rng: random.Random, address: str) -> str:
    """The same address as a person would type it again: other case, stray whitespace."""
    variant = rng.randrange(4)
    if variant == 0:
        return address.upper()
    if variant == 1:
        return f" {address} "
    if variant == 2:
        return address.capitalize()
    return address


def _lines(rows: int, chunk_rows: int = 50_000) -> list[str]:
    rng = random.Random(SEED)
    companies = _company_domains(rng)
    # Draw the common columns in bulk (one call each instead of one per row): it keeps generation fast.
    providers = rng.choices([name for name, _ in PROVIDERS], [weight for _, weight in PROVIDERS], k=rows)
    firsts = rng.choices(FIRST_NAMES, k=rows)
    lasts = rng.choices(LAST_NAMES, k=rows)
    countries = rng.choices(COUNTRIES, k=rows)
    dates = [f"20{y}-{m:02d}-{d:02d}" for y in range(15, 25) for m in range(1, 13) for d in range(1, 29)]
    signups = rng.choices(dates, k=rows)
    opt_ins = rng.choices(("yes", ""), (97, 3), k=rows)
    dirt_draws = [rng.random() for _ in range(rows)]
    shares = (INVALID_SYNTAX_SHARE, DUPLICATE_SHARE, DISPOSABLE_SHARE, ROLE_ACCOUNT_SHARE, TYPO_DOMAIN_SHARE)
    thresholds = _cumulative(*shares, QUOTED_COMMA_SHARE)
    seen: list[str] = []
    chunks: list[str] = []
    lines: list[str] = []
    for n in range(rows):
        first, last, dirt = firsts[n], lasts[n], dirt_draws[n]
        domain = providers[n] if dirt * 7919 % 1 < PROVIDER_SHARE else companies[n % COMPANY_DOMAINS]
        local = _local_part(rng, first, last, n)
        last_name, country = last.capitalize(), countries[n]
        if dirt >= thresholds[5]:
            email = f"{local}@{domain}"
            if n % 16 == 0:  # a sample of earlier addresses to duplicate
                seen.append(email)
        elif dirt < thresholds[0]:
            email = _invalid_address(rng, local, domain)
        elif dirt < thresholds[1] and seen:
            email = _duplicate_of(rng, rng.choice(seen))
        elif dirt < thresholds[2]:
            email = f"{local}@{rng.choice(DISPOSABLE_DOMAINS)}"
        elif dirt < thresholds[3]:
            email = f"{rng.choice(ROLE_NAMES)}@{rng.choice(companies)}"
        elif dirt < thresholds[4]:
            email = f"{local}@{rng.choice(TYPO_DOMAINS)}"
        else:  # a valid address whose other fields hold quoted commas
            email = f"{local}@{domain}"
            last_name, country = rng.choice(LAST_NAMES_WITH_COMMA), rng.choice(COUNTRIES_WITH_COMMA)
        lines.append(f"{email},{first.capitalize()},{last_name},{country},{opt_ins[n]},{signups[n]}\n")
        if len(lines) == chunk_rows:
            chunks.append("".join(lines))
            lines = []
    chunks.append("".join(lines))
    return chunks


def _cumulative(*shares: float) -> list[float]:
    total, out = 0.0, []
    for share in shares:
        total += share
        out.append(total)
    return out


#: The worst case of the duplicate index: a file of short unique addresses, 11 bytes a line.
SHORT_ADDRESS_BYTES = 240_000_000
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
# One-letter domains (no typo of a big provider: a name of 3 characters or fewer is never one).
_SHORT_DOMAINS = [
    f"{letter}.{tld}" for letter in "abcdefghijklmnopqrstuvwxyz" for tld in ("de", "io", "fr", "nl")
]


def short_address_file(directory: Path, size: int = SHORT_ADDRESS_BYTES) -> Path:
    """The cached file of ``size`` bytes of short unique addresses (``3f2a@k.io``; 22 million rows)."""
    path = directory / f"short-addresses-{size}-v{GENERATOR_VERSION}.csv"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        with open(partial, "w", encoding="ascii", newline="") as out:
            written, serial = out.write("email\n"), 0
            while True:
                lines = "".join(
                    f"{_base36(n)}@{_SHORT_DOMAINS[n % len(_SHORT_DOMAINS)]}\n"
                    for n in range(serial, serial + 100_000)
                )
                serial += 100_000
                if written + len(lines) >= size:  # the last lines that fit
                    out.write(lines[: lines.rfind("\n", 0, size - written) + 1])
                    break
                written += out.write(lines)
        partial.replace(path)
    return path


def _base36(n: int) -> str:
    digits = ""
    while True:
        n, digit = divmod(n, 36)
        digits = _BASE36[digit] + digits
        if not n:
            return digits
