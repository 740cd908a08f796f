"""Realistic contact lists for the demo: a clean opted-in list, and a bought list full of trouble."""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from datetime import date, timedelta

FIRST_NAMES = [
    "Ada",
    "Alan",
    "Amara",
    "Ana",
    "Anouk",
    "Bea",
    "Carlos",
    "Chen",
    "Chloé",
    "Dmitri",
    "Elif",
    "Emma",
    "Fatima",
    "Felix",
    "Grace",
    "Hana",
    "Ines",
    "Ivan",
    "Jonas",
    "Julia",
    "Kai",
    "Kofi",
    "Lea",
    "Liam",
    "Lucía",
    "Maja",
    "Mateo",
    "Mei",
    "Nadia",
    "Noah",
    "Olga",
    "Omar",
    "Priya",
    "Rafael",
    "Sara",
    "Sofia",
    "Tariq",
    "Theo",
    "Yara",
    "Yusuf",
    "Zoë",
]
LAST_NAMES = [
    "Abara",
    "Berg",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "García",
    "Haddad",
    "Ito",
    "Jansen",
    "Kowalski",
    "Lopez",
    "Müller",
    "Nakamura",
    "Novak",
    "Okafor",
    "Patel",
    "Quinn",
    "Rossi",
    "Silva",
    "Schmidt",
    "Tanaka",
    "Usman",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zimmermann",
]
PROVIDERS = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "gmx.de", "orange.fr")
COMPANIES = tuple(
    f"{word}.{tld}"
    for word in ["acme", "globex", "initech", "umbrella", "stark", "wayne", "hooli", "vandelay"]
    for tld in ("com", "io", "co.uk")
)
COUNTRIES = ("US", "GB", "DE", "FR", "ES", "NL", "SE", "JP", "BR", "IN")
HEADER = ("email", "first_name", "last_name", "country", "opt_in", "signup_date")
#: A list with an engagement history (``contact_list(..., engagement=day)``) has these columns too.
ENGAGEMENT_HEADER = ("last_open", "last_click")


@dataclass(frozen=True)
class Mix:
    """Shares of trouble in a generated list (the rest are fresh, valid, opted-in people)."""

    invalid: float = 0.0
    duplicate: float = 0.0
    disposable: float = 0.0
    role: float = 0.0
    typo: float = 0.0


CLEAN = Mix(invalid=0.004, duplicate=0.004, role=0.003)
BOUGHT = Mix(invalid=0.05, duplicate=0.03, disposable=0.05, role=0.03, typo=0.03)
#: Between the review and decline thresholds: about 7% of the rows would bounce.
BORDERLINE = Mix(invalid=0.02, duplicate=0.01, disposable=0.025, role=0.01, typo=0.025)


def contact_list(rows: int, *, mix: Mix, seed: int, start: int = 0, engagement: date | None = None) -> bytes:
    """A UTF-8 CSV of ``rows`` contacts; ``start`` keeps lists of one account from overlapping.

    ``engagement``: each contact's last open and last click too, as of that day (the same addresses as
    without): most opened and clicked lately, a fifth not opened for over 6 months, a tenth not clicked
    for over a year, a tenth with no history at all."""
    rng = random.Random(seed)
    history = random.Random(seed + 1_000)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER + ENGAGEMENT_HEADER if engagement else HEADER)
    emitted: list[str] = []
    for n in range(start, start + rows):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = _address(rng, mix, first, last, n, emitted)
        emitted.append(email)
        row = (
            email,
            first,
            last,
            rng.choice(COUNTRIES),
            "yes",
            f"20{rng.randint(19, 25)}-0{rng.randint(1, 9)}-1{n % 10}",
        )
        writer.writerow(row + _engagement(history, engagement) if engagement else row)
    return out.getvalue().encode()


def _engagement(rng: random.Random, today: date) -> tuple[str, str]:
    def days_ago(low: int, high: int) -> str:
        return (today - timedelta(days=rng.randint(low, high))).isoformat()

    roll = rng.random()
    if roll < 0.6:
        return days_ago(1, 150), days_ago(1, 300)
    if roll < 0.8:
        return days_ago(200, 500), days_ago(200, 500)  # no open in 6 months
    if roll < 0.9:
        return days_ago(1, 150), days_ago(400, 700)  # no click in 12 months
    return "", ""  # no history: the consent date (signup_date) decides


def _address(rng: random.Random, mix: Mix, first: str, last: str, n: int, emitted: list[str]) -> str:
    local = f"{_ascii(first)}.{_ascii(last)}{n}".lower()
    roll = rng.random()
    for share, make in (
        (
            mix.invalid,
            lambda: rng.choice(
                (f"{local}@", f"{local}.gmail.com", f"{local}@@gmail.com", "n/a", f"{local} @x.com")
            ),
        ),
        (mix.duplicate, lambda: f"  {rng.choice(emitted).upper()} " if emitted else f"{local}@gmail.com"),
        (
            mix.disposable,
            lambda: f"{local}@{rng.choice(('mailinator.com', 'guerrillamail.com', 'yopmail.com'))}",
        ),
        (
            mix.role,
            lambda: f"{rng.choice(('info', 'admin', 'sales', 'support', 'contact'))}@{rng.choice(COMPANIES)}",
        ),
        (mix.typo, lambda: f"{local}@{rng.choice(('yahho.com', 'gmail.con', 'hotmal.com', 'outlok.com'))}"),
    ):
        if roll < share:
            return make()
        roll -= share
    return f"{local}@{rng.choice(PROVIDERS + COMPANIES)}"


def _ascii(name: str) -> str:
    return name.translate(str.maketrans("éöüíóëÉÖÜ", "eouioeEOU"))
