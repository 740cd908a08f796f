"""The demo's campaign chapters: a campaign to new contacts is sampled, bounces pause it, the flagged
contacts are remediated, and the requeue sends it to the clean contacts that had not received it.

A new customer imports an old list in pieces small enough to need no verification check each, so
nothing stopped it at the door; its first campaign does. Everything runs through the deployed
functions and state machines, driven by the same calls as the console's commands.
"""

from __future__ import annotations

import email
import math
import time
from email.message import Message
from typing import TYPE_CHECKING, Any

from ..errors import CommandError
from ..sample_data import Mix, contact_list
from .campaigns import campaign_actions, invoke_requeue, print_campaign

if TYPE_CHECKING:
    from listguard.domain.deliverability import DeliverabilityPolicy
    from listguard.domain.models import Campaign, ImportRecord
    from listguard.flows.campaigns.actions import Campaigns

CAMPAIGN_ACCOUNT = "globex-sports"
CAMPAIGN_OWNER = "owner@globex-sports.example"
#: An old trade-show list: about one address in seven no longer exists (disposable and mistyped
#: domains), with role accounts and a few broken rows.
OLD_LIST = Mix(invalid=0.03, duplicate=0.02, disposable=0.07, role=0.03, typo=0.06)
OLD_LIST_ROWS = 300
#: Verdicts of addresses that do not exist: SES reports their emails as hard bounces.
BOUNCING = {"disposable", "typo_domain"}
#: The demo's stack samples 50 of at least 200 never-mailed contacts, at up to 500 emails/s
#: (deployed: 500 of at least 2,000, at 14/s): a small list tells the same story in seconds.
DEMO_SAMPLE_SIZE, DEMO_SAMPLE_MIN_NEW_CONTACTS, DEMO_SEND_RATE = 50, 200, 500


def demo_deliverability() -> DeliverabilityPolicy:
    """The demo stack's campaign parameters. The pause thresholds are the ones in force
    (``LISTGUARD_*``, as the stack's parameters would be)."""
    from listguard.domain.deliverability import DeliverabilityPolicy

    return DeliverabilityPolicy(
        sample_min_new_contacts=DEMO_SAMPLE_MIN_NEW_CONTACTS,
        sample_size=DEMO_SAMPLE_SIZE,
        send_rate_per_second=DEMO_SEND_RATE,
    )


def campaign_settings() -> dict[str, str]:
    """``demo_deliverability`` as the functions' environment."""
    policy = demo_deliverability()
    return {f"LISTGUARD_{name.upper()}": str(value) for name, value in policy.model_dump().items()}


class CampaignChapters:
    def __init__(self, demo: Any, *, seed: int) -> None:
        self.demo = demo
        self.seed = seed
        self.stack, self.cloud, self.story = demo.stack, demo.cloud, demo.story
        # Built once, now: settings read the whole environment, which a function running on another
        # thread (a state machine's task) changes while it runs.
        self.actions: Campaigns = campaign_actions(self.stack)
        self.lifecycle = self.stack.lifecycle
        self.deliverability = demo_deliverability()
        self.document: dict[str, Any] = {"account": CAMPAIGN_ACCOUNT}

    def tell(self) -> dict[str, Any]:
        from listguard.stores import utc_now_iso

        policy, deliverability = self.demo.policy, self.deliverability
        self.stack.accounts.set_email(CAMPAIGN_ACCOUNT, CAMPAIGN_OWNER, now=utc_now_iso())
        # Each piece small enough to need no verification check.
        pieces = max(1, math.ceil(OLD_LIST_ROWS / (0.9 * policy.check_min_new_contacts)))
        self.story.chapter(
            f"5. A new customer, {CAMPAIGN_ACCOUNT}, imports an old list: {OLD_LIST_ROWS:,} contacts"
        )
        self._import_pieces(OLD_LIST_ROWS, pieces)
        self.story.note(
            f"Fewer than {policy.check_min_new_contacts:,} new contacts at a time: no verification check is "
            "required, and every importable contact is sendable. Its first campaign is where the bad "
            "addresses show."
        )

        self.story.chapter("6. Its first campaign goes to a sample first")
        campaign = self._send_campaign(deliverability)
        self._feedback(campaign)
        campaign = self._evaluate(campaign)
        if campaign.decision != "pause":
            self.story.note("The sample was under both thresholds: the campaign went on to everyone.")
            return self._finish(campaign)

        self.story.chapter("7. The contacts it held go through the verification check")
        self._check(campaign)
        self.story.chapter("8. The flagged contacts are remediated")
        self.document["remediation"] = self._remediate_flagged_contacts(campaign)

        self.story.chapter("9. The requeue job sends the campaign to the clean contacts")
        self.story.command(f"listguard campaigns requeue {campaign.campaign_id} --account {CAMPAIGN_ACCOUNT}")
        report = self._requeue(campaign)
        self.story.console.print(
            f"   the requeue job: {report['sent']:,} contacts got it now, {report['taken']:,} had it "
            f"already, {report['still_flagged'] or 0:,} still flagged; campaign [bold]{report['status']}[/]"
        )
        self.document["requeue"] = report
        return self._finish(self.actions.get(CAMPAIGN_ACCOUNT, campaign.campaign_id))

    # -- the list, in pieces --------------------------------------------------------------------------

    def _import_pieces(self, rows: int, pieces: int) -> None:
        from listguard.domain.keys import import_object_key

        body = contact_list(rows, mix=OLD_LIST, seed=self.seed + 3, start=100_000).decode().splitlines()
        header, lines = body[0], body[1:]
        size = math.ceil(len(lines) / pieces)
        imported = []
        for index in range(pieces):
            name = "tradeshow" if pieces == 1 else f"tradeshow-{index + 1}"
            piece = "\n".join([header, *lines[index * size : (index + 1) * size]]) + "\n"
            self.cloud.client("s3").put_object(
                Bucket=self.stack.output("ImportsBucketName"),
                Key=import_object_key(CAMPAIGN_ACCOUNT, f"{name}.csv"),
                Body=piece.encode(),
            )
            record = self._import_rests(name)
            imported.append(record.model_dump(mode="json", exclude_none=True))
            self.story.console.print(
                f"   imports/{CAMPAIGN_ACCOUNT}/{name}.csv: {record.new_contacts:,} new contacts, "
                f"predicted bounce rate {record.predicted_bounce_rate or 0:.1%} -> [bold]{record.status}[/] "
                "(no check required)"
            )
        self.document["imports"] = imported

    # -- the campaign and its sample ------------------------------------------------------------------

    def _send_campaign(self, deliverability: Any) -> Campaign:
        subject, text = "Spring collection: 20% off running shoes", "Hello, our spring collection is here."
        self.story.command(
            f'listguard campaigns create --account {CAMPAIGN_ACCOUNT} --subject "{subject}" --text "..."'
        )
        campaign = self.actions.create(CAMPAIGN_ACCOUNT, subject=subject, text=text, html=f"<p>{text}</p>")
        cid = campaign.campaign_id
        self.story.command(f"listguard campaigns send {cid} --account {CAMPAIGN_ACCOUNT}")
        started = time.perf_counter()
        self.actions.start(CAMPAIGN_ACCOUNT, cid)
        campaign = self._campaign_until(cid, lambda c: c.status == "observing", "its sample sent")
        self.story.console.print(
            f"   {campaign.new_count:,} of its {campaign.target_count:,} contacts were never mailed "
            f"(at least {deliverability.sample_min_new_contacts:,}): a random sample of "
            f"{campaign.sample_size:,} gets it first, at up to {deliverability.send_rate_per_second}/s "
            f"({time.perf_counter() - started:.1f} s); the rest waits for the observation window "
            f"({deliverability.observation_window_seconds // 3600} h) to end"
        )
        self.document["campaign_id"] = cid
        return campaign

    def _feedback(self, campaign: Campaign) -> None:
        """What SES reports back: the sample's addresses that do not exist bounce, one person complains."""
        cid = campaign.campaign_id
        recipients = list(self.actions.recipients(CAMPAIGN_ACCOUNT, cid))
        verdicts = {c.email: c.verdict for c in self.stack.contacts.list(CAMPAIGN_ACCOUNT)}
        bouncing = [address for address in recipients if verdicts.get(address) in BOUNCING]
        complaining = next(address for address in recipients if verdicts.get(address) == "valid")
        self.story.note(
            "No mail server answers on the local AWS: `feedback simulate` publishes to the feedback topic "
            "the event SES publishes for each hard bounce and complaint; the feedback function takes it."
        )
        for address in bouncing:
            self._simulate("bounce", address, cid)
        self._simulate("complaint", complaining, cid)
        self.story.command(f"listguard feedback simulate --bounce {bouncing[0]} --campaign {cid} ...")
        self.story.console.print(
            f"   {len(bouncing):,} hard bounces (the addresses at disposable and mistyped domains) and "
            "1 complaint: each contact is blocklisted, and the sample's rates move"
        )
        self.document["feedback"] = {"hard_bounces": len(bouncing), "complaints": 1}

    def _simulate(self, kind: str, address: str, campaign_id: str) -> None:
        import json

        from listguard.domain import keys
        from listguard.flows.campaigns.feedback import simulated_notification
        from listguard.stores import utc_now_iso

        campaign = self.actions.get(CAMPAIGN_ACCOUNT, campaign_id)
        entry = self.actions.s.ledger.get(CAMPAIGN_ACCOUNT, campaign_id, keys.contact_key(address))
        notification = simulated_notification(
            kind,  # type: ignore[arg-type]
            address,
            account=CAMPAIGN_ACCOUNT,
            campaign_id=campaign_id,
            sender=campaign.sender,
            message_id=entry.message_id if entry else None,
            at=utc_now_iso(),
        )
        self.cloud.client("sns").publish(
            TopicArn=self.stack.output("FeedbackTopicArn"), Message=json.dumps(notification)
        )

    def _evaluate(self, campaign: Campaign) -> Campaign:
        cid = campaign.campaign_id
        self.story.command(f"listguard campaigns evaluate {cid} --account {CAMPAIGN_ACCOUNT}")
        self.story.note("(an operator ends the observation window early; otherwise it ends on its own)")
        self.actions.evaluate(CAMPAIGN_ACCOUNT, cid)
        campaign = self._campaign_until(
            cid,
            lambda c: c.status == "sent" or (c.status == "paused" and c.held_count is not None),
            "its decision",
        )
        view = self.actions.view(CAMPAIGN_ACCOUNT, cid).document()
        self.story.command(f"listguard campaigns show {cid} --account {CAMPAIGN_ACCOUNT}")
        print_campaign(self.story.console, view)
        self.document |= {
            "decision": campaign.decision,
            "sample": view["sample"],
            "held": campaign.held_count,
        }
        self._print_customer_emails()
        return campaign

    # -- the pause: the check, the remediation ----------------------------------------------------------

    def _check(self, campaign: Campaign) -> ImportRecord:
        assert campaign.check_import_id is not None
        name = campaign.check_import_id
        self.story.note(
            f"The {campaign.held_count:,} held contacts are an ordinary import, imports/{CAMPAIGN_ACCOUNT}/"
            f"{name}.csv: the import lifecycle checks them, and they stay Pending until it ends."
        )
        record = self._import_rests(name)
        if record.status == "awaiting_confirmation":
            self._print_customer_emails(full=False)
            self.story.command(f"listguard imports confirm {name} --account {CAMPAIGN_ACCOUNT}")
            self.lifecycle.confirm(CAMPAIGN_ACCOUNT, name)
            record = self._import_rests(name, besides="awaiting_confirmation")
        self.story.console.print(
            f"   import {name}: {record.new_contacts:,} contacts, predicted bounce rate "
            f"{record.predicted_bounce_rate or 0:.1%} -> [bold]{record.status}[/]"
        )
        self._print_customer_emails()
        # The requeue job's next run settles the check: each held contact gets its flag.
        self.story.note("EventBridge runs the requeue job every 15 minutes; locally the console invokes it.")
        self.story.command(f"listguard campaigns requeue {campaign.campaign_id} --account {CAMPAIGN_ACCOUNT}")
        report = self._requeue(campaign)
        held = list(self.stack.contacts.flagged_by(CAMPAIGN_ACCOUNT, name))
        declined = [c for c in held if c.flag_status == "declined"]
        self.story.console.print(
            f"   the requeue job settled the check ({report['check_settled']}): "
            f"{campaign.held_count - len(held):,} held contacts are sendable again, {len(declined):,} are "
            f"declined by their own verdict; nothing is sent before a remediation marks the campaign"
        )
        self.demo.story.flagged(
            [
                c.model_dump(
                    mode="json", include={"email", "flag_status", "subscription_status", "verdict", "row"}
                )
                for c in declined[:5]
            ]
        )
        self.document["check"] = record.model_dump(mode="json", exclude_none=True) | {
            "settled": report["check_settled"],
            "declined": len(declined),
        }
        return record

    def _remediate_flagged_contacts(self, campaign: Campaign) -> dict[str, Any]:
        """The customer remediates the contacts the check flagged, for this campaign: the remediation
        state machine exports them, deletes them once the customer types their count, cleans them, and
        marks the campaign for requeue (there is no clean list to reimport when none is left)."""
        from listguard.flows.remediation import confirm, lifecycle

        from .remediate import remediation_services

        cid = campaign.campaign_id
        services = remediation_services(self.stack)
        self.story.command(
            f"listguard remediate start --account {CAMPAIGN_ACCOUNT} --campaign {cid} --consent-attested"
        )
        record = lifecycle.start(
            services, CAMPAIGN_ACCOUNT, request_id=f"campaign-{cid}", campaign_id=cid, consent_attested=True
        )
        rid = record.remediation_id
        record = self.demo._remediation(services, rid, lambda r: r.awaiting is not None or r.status.final)
        if record.count:
            self.story.command(f"listguard remediate confirm-delete {rid} --count {record.count}")
            confirm.confirm_delete(services, rid, record.count)
            record = self.demo._remediation(services, rid, lambda r: r.status.final)
        reimported = None
        if record.reimport_import_id:
            imported = self._import_rests(record.reimport_import_id)
            if imported.status == "awaiting_confirmation":  # the customer continues
                self.lifecycle.confirm(CAMPAIGN_ACCOUNT, imported.import_id)
                imported = self._import_rests(imported.import_id, besides="awaiting_confirmation")
            reimported = str(imported.status)
        described = lifecycle.describe(record)
        self.story.console.print(
            f"   remediation {rid}: {record.count or 0:,} flagged contacts exported and deleted; "
            + (
                f"the clean list imported again ({reimported}); "
                if reimported
                else "nothing left to reimport; "
            )
            + f"campaign {cid} marked for requeue"
        )
        return {**described, "reimport_status": reimported}

    def _requeue(self, campaign: Campaign) -> dict[str, Any]:
        return invoke_requeue(self.stack, CAMPAIGN_ACCOUNT, campaign.campaign_id)

    # -- the end ----------------------------------------------------------------------------------------

    def _finish(self, campaign: Campaign) -> dict[str, Any]:
        from ..localcloud.motocompat import sent_emails

        view = self.actions.view(CAMPAIGN_ACCOUNT, campaign.campaign_id).document()
        to_contacts = [
            message["To"]
            for message in map(email.message_from_string, sent_emails())
            if message["X-Listguard-Campaign"] == campaign.campaign_id
        ]
        self.story.console.print(
            f"   campaign {campaign.campaign_id}: [bold]{view['status']}[/]; SES took {len(to_contacts):,} "
            f"emails for {len(set(to_contacts)):,} distinct contacts ({view['sent_by_phase']}): nobody got "
            "it twice, and no flagged or blocklisted contact got it"
        )
        self.document |= {
            "status": view["status"],
            "sent": view["sent"],
            "sent_by_phase": view["sent_by_phase"],
            "emails": len(to_contacts),
            "distinct_recipients": len(set(to_contacts)),
        }
        return self.document

    # -- plumbing -----------------------------------------------------------------------------------------

    def _campaign_until(self, campaign_id: str, done: Any, what: str, timeout: float = 60.0) -> Campaign:
        deadline = time.monotonic() + timeout
        while True:
            campaign = self.actions.get(CAMPAIGN_ACCOUNT, campaign_id)
            if done(campaign):
                return campaign
            if campaign.status == "failed" or time.monotonic() > deadline:
                raise CommandError(
                    f"campaign {campaign_id} did not reach {what}: {campaign.status} {campaign.error or ''}"
                )
            time.sleep(0.05)

    def _import_rests(self, import_id: str, *, besides: str = "", timeout: float = 60.0) -> ImportRecord:
        """The import once it rests and the customer has been told (just after it moved)."""
        record: ImportRecord = self.demo._rests(
            import_id, besides=besides, timeout=timeout, account=CAMPAIGN_ACCOUNT
        )
        return record

    def _print_customer_emails(self, *, full: bool = True) -> None:
        """The emails the customer received since the last look (campaign emails to contacts are not)."""
        from ..localcloud.motocompat import sent_emails

        raw = sent_emails()
        for text in raw[self.demo.emails_seen :]:
            message: Message = email.message_from_string(text)
            if message["To"] == CAMPAIGN_OWNER:
                self.story.email(message, _text_part(message), full=full)
        self.demo.emails_seen = len(raw)


def _text_part(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            return payload.decode() if isinstance(payload, bytes) else str(payload)
    return ""
