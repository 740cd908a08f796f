"""Emails rendered from templates in the layer (Jinja2): a subject, a text part and an HTML part.

SES v2's own templates are not used: the same rendering then works on the local cloud (whose SES has
no templates) and on AWS, and the notification center stores exactly what the email said.

One template per event type (``templates/<event_type>.j2``) says what to tell, with a few macros
(``p``, ``items``, ``steps``, ``cmd``); it is rendered twice, over ``_text.j2`` and over ``_html.j2``
(HTML-escaped). StrictUndefined makes a missing value an error in tests, not a blank in an inbox.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from listguard.domain.vocabulary import EventType

TEMPLATES = Path(__file__).with_name("templates")


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@functools.cache
def _environment(html: bool) -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=html,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["count"] = lambda value: f"{int(value):,}"
    environment.filters["percent"] = lambda value: f"{float(value):.1%}"
    return environment


def render(event_type: EventType, data: dict[str, Any]) -> RenderedEmail:
    """The email of one event; ``data`` are the template's values (never a contact's address)."""
    values = {"event_type": str(event_type), **data}
    name = f"{event_type}.j2"
    text_template = _environment(html=False).get_template(name)
    subject = "".join(
        text_template.blocks["subject"](
            text_template.new_context({**values, "layout": "_text.j2", "macros": "_text_macros.j2"})
        )
    )
    return RenderedEmail(
        subject=" ".join(subject.split()),
        text=text_template.render({**values, "layout": "_text.j2", "macros": "_text_macros.j2"}),
        html=_environment(html=True)
        .get_template(name)
        .render({**values, "layout": "_html.j2", "macros": "_html_macros.j2"}),
    )
