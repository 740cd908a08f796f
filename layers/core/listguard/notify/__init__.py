"""Telling customers: templates rendered in the layer, the notification center, SES v2 and SNS."""

from listguard.notify.notifier import Notifier
from listguard.notify.render import RenderedEmail, render

__all__ = ["Notifier", "RenderedEmail", "render"]
