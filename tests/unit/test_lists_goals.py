"""The lists' goals, measured through the engine on data these tests construct.

- role recall on the community list's prefixes: at least 85%;
- disposable recall on the maintained lists' domains: at least 95%;
- typo recall on slips of provider names of 5+ letters: at least 90%, each suggestion the intended provider;
- plain addresses flagged: at most 0.5%.

The slips here come from a keyboard map of their own (not the refresh tool's), in the kinds of slip
people make: a letter dropped, doubled, swapped, replaced by a neighbour, a neighbour typed before or
after it, at any position, and .co or .con for .com.
"""

from __future__ import annotations

import io
import random
from importlib.resources import files

from disposable_email_domains import blocklist as disposable_email_domains
from MailChecker import MailChecker

from listguard.verification import RowResult, Verdict, Verification
from listguard.verification.domains import ALLOWLIST, MAILBOX_PROVIDERS

DATA = files("listguard.verification") / "data"


def verify(addresses: list[str]) -> list[RowResult]:
    text = "email\n" + "".join(f"{address}\n" for address in addresses)
    return [row for batch in Verification(io.BytesIO(text.encode())).batches() for row in batch]


def share(rows: list[RowResult], verdict: Verdict) -> float:
    return sum(row.verdict is verdict for row in rows) / len(rows)


def test_role_recall_on_the_community_list() -> None:
    # Given every prefix the community list publishes, on a company domain
    lines = DATA.joinpath("role-based-email-addresses.txt").read_text("utf-8").splitlines()
    prefixes = [line for line in lines if not line.startswith("#")]
    # When verified / Then at least 85% are role accounts
    recall = share(verify([f"{prefix}@northwind-traders.com" for prefix in prefixes]), Verdict.ROLE_ACCOUNT)
    assert recall >= 0.85, f"role recall {recall:.1%}"


def test_disposable_recall_on_the_maintained_lists() -> None:
    # Given 3,000 domains drawn from mailchecker's list and 1,000 from disposable-email-domains'
    rng = random.Random(11)
    domains = rng.sample(sorted(MailChecker.blacklist), 3000)
    domains += rng.sample(sorted(disposable_email_domains - set(domains)), 1000)
    # When verified / Then at least 95% are disposable (a typo of a provider or an allowlisted
    # domain counts as a miss here)
    recall = share(verify([f"ann@{domain}" for domain in domains]), Verdict.DISPOSABLE)
    assert recall >= 0.95, f"disposable recall {recall:.1%}"


# A QWERTY map of each letter's neighbours, typed out for these tests.
NEAR = {
    "q": "wa",
    "w": "qeas",
    "e": "wrsd",
    "r": "etdf",
    "t": "ryfg",
    "y": "tugh",
    "u": "yihj",
    "i": "uojk",
    "o": "ipkl",
    "p": "ol",
    "a": "qwsz",
    "s": "awedxz",
    "d": "serfcx",
    "f": "drtgvc",
    "g": "ftyhbv",
    "h": "gyujnb",
    "j": "huikmn",
    "k": "jiolm",
    "l": "kop",
    "z": "asx",
    "x": "zsdc",
    "c": "xdfv",
    "v": "cfgb",
    "b": "vghn",
    "n": "bhjm",
    "m": "njk",
}


def slips(name: str) -> set[str]:
    out: set[str] = set()
    for i, letter in enumerate(name):
        head, tail = name[:i], name[i + 1 :]
        out |= {head + tail, head + letter * 2 + tail}
        if tail:
            out.add(head + tail[0] + letter + tail[1:])
        for near in NEAR.get(letter, ""):
            out |= {head + near + tail, head + near + letter + tail, head + letter + near + tail}
    return {slip for slip in out if slip and slip != name and slip[0] != "-" and slip[-1] != "-"}


def provider_slips() -> dict[str, str]:
    """Slip domain -> the provider it was made from, for the providers whose name has 5+ letters."""
    made: dict[str, str] = {}
    for provider in MAILBOX_PROVIDERS:
        name, _, suffix = provider.partition(".")
        if len(name) < 5:
            continue
        for slip in slips(name):
            made.setdefault(f"{slip}.{suffix}", provider)
        if suffix == "com":
            made[f"{name}.co"] = made[f"{name}.con"] = provider
    return {slip: provider for slip, provider in made.items() if slip not in ALLOWLIST}


def test_typo_recall_for_provider_names_of_five_letters_or_more() -> None:
    # Given every slip of every such provider name
    made = provider_slips()
    assert len(made) > 3000
    # When verified
    rows = verify([f"ann@{slip}" for slip in made])
    # Then at least 90% are typos of the provider they were made from
    caught = [row for row in rows if row.verdict is Verdict.TYPO_DOMAIN]
    recall = len(caught) / len(rows)
    assert recall >= 0.90, f"typo recall {recall:.1%}"
    # And every suggestion is that provider
    wrong = [
        (row.email, row.suggestion)
        for row in rows
        if row.suggestion and row.suggestion != f"ann@{made[row.email.partition('@')[2]]}"
    ]
    assert not wrong


FIRST_NAMES = (  # noqa: SIM905 (a list of words reads better as text)
    "james mary john patricia robert jennifer michael linda william elizabeth david barbara richard susan "
    "joseph jessica thomas sarah charles karen daniel nancy matthew betty anthony sandra mark ashley paul "
    "emily steven donna lucas emma hugo lea louis chloe jonas mia felix anna mateo sofia noah olivia alexa "
    "sydney ava max sam ben tom kim lee ana ali eva ian jay ray grace hope joy april june rose ivy hazel "
    "mohammed fatima wei yuki priya arjun olga ivan sven lars ingrid pierre marie camille chiara marco luca "
    "carmen joao pedro kofi ama chidi amir leila omar zara per india"
).split()
LAST_NAMES = (  # noqa: SIM905 (a list of words reads better as text)
    "smith johnson williams brown jones garcia miller davis rodriguez martinez lopez gonzalez wilson "
    "anderson taylor moore jackson martin lee perez thompson white harris sanchez clark lewis robinson "
    "walker young allen king wright scott torres nguyen hill green adams nelson baker hall rivera campbell "
    "mitchell carter roberts muller schmidt schneider fischer weber meyer wagner becker dubois moreau "
    "laurent bernard rossi russo ferrari bianchi kowalski nowak novak ivanov petrov park chen wang zhang "
    "sato tanaka patel shah singh kumar khan hassan webb love watt fry mann bell ross hale page fox lane "
    "wolf frost stone wood reed hunt ford west"
).split()
COMPANY_WORDS = (  # noqa: SIM905 (a list of words reads better as text)
    "acme blue river north star peak global micro data cloud green bright nova apex summit harbor pixel "
    "quantum iron silver maple cedar delta orbit vertex prime urban atlas lumen zen solar terra swift"
).split()
TLDS = ("com", "com", "com", "com", "net", "org", "io", "co", "de", "fr", "co.uk", "nl", "es", "biz", "info")
FREE_MAIL = (
    ("gmail.com", 30),
    ("yahoo.com", 8),
    ("hotmail.com", 6),
    ("outlook.com", 5),
    ("icloud.com", 3),
    ("aol.com", 2),
    ("gmx.de", 2),
    ("web.de", 1),
    ("orange.fr", 1),
    ("free.fr", 1),
    ("live.com", 1),
    ("msn.com", 1),
    ("me.com", 1),
    ("mail.ru", 1),
    ("att.net", 1),
    ("comcast.net", 1),
)


def plain_addresses(count: int, seed: int) -> list[str]:
    """People's addresses as lists hold them: at big providers, at companies named after a family
    (smith.com, smith-jones.net) or after words (bluepeak.io)."""
    rng = random.Random(seed)
    providers = [domain for domain, weight in FREE_MAIL for _ in range(weight)]
    addresses: set[str] = set()
    while len(addresses) < count:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        local = rng.choice(
            [
                f"{first}.{last}",
                f"{first[0]}{last}",
                f"{first}{last}",
                f"{first}_{last}",
                f"{first}.{last}{rng.randrange(100)}",
                f"{last}.{first[0]}",
                f"{first}{rng.randrange(1950, 2010)}",
            ]
        )
        kind = rng.random()
        if kind < 0.55:
            domain = rng.choice(providers)
        elif kind < 0.8:
            domain = f"{rng.choice(LAST_NAMES)}.{rng.choice(TLDS)}"
        elif kind < 0.9:
            domain = f"{rng.choice(LAST_NAMES)}-{rng.choice(LAST_NAMES)}.{rng.choice(TLDS)}"
        else:
            domain = f"{rng.choice(COMPANY_WORDS)}{rng.choice(COMPANY_WORDS)}.{rng.choice(TLDS)}"
        addresses.add(f"{local}@{domain}")
    return sorted(addresses)


def test_plain_addresses_are_rarely_flagged() -> None:
    # Given 20,000 plain addresses of people
    rows = verify(plain_addresses(20_000, seed=5))
    # When verified / Then at most 0.5% get any verdict but valid
    flagged = [row for row in rows if row.verdict is not Verdict.VALID]
    assert len(flagged) / len(rows) <= 0.005, f"{len(flagged) / len(rows):.2%}: {flagged[:5]}"
    # And none is a typo or a role account: what is flagged is a disposable list's (smith.com is on
    # mailchecker's)
    assert {row.verdict for row in flagged} <= {Verdict.DISPOSABLE}
