"""Campaigns (``ACCOUNT#<account>`` / ``CAMPAIGN#<campaign id>``): what a campaign says and where it is.

Every change of a campaign is one conditional update (``transition``): a replayed step or a second
sender finds the campaign moved on and changes nothing. While a campaign is paused it sits in gsi1's
``CAMPAIGNS#PAUSED`` partition, oldest first, where the requeue job finds it. A remediation marks a
paused campaign for requeue by setting ``requeue_requested_by`` and ``requeue_requested_at`` on this
item; this store only reads those two fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from listguard.domain import keys
from listguard.domain.models import Campaign
from listguard.domain.vocabulary import CampaignStatus
from listguard.stores.dynamo import ConditionFailedError, Item, Table


class CampaignStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def create(self, campaign: Campaign) -> None:
        """Store a new campaign; ``ConditionFailedError`` if its id is taken."""
        self._table.put(
            {
                **campaign_key(campaign.account, campaign.campaign_id),
                "type": "campaign",
                **campaign.model_dump(mode="json", exclude_none=True),
            },
            condition="attribute_not_exists(pk)",
        )

    def get(self, account: str, campaign_id: str) -> Campaign | None:
        item = self._table.get(campaign_key(account, campaign_id))
        return Campaign.model_validate(item) if item else None

    def list(self, account: str, *, limit: int | None = None) -> Iterator[Campaign]:
        for item in self._table.query(
            "pk = :pk AND begins_with(sk, :prefix)",
            {":pk": keys.account_pk(account), ":prefix": keys.CAMPAIGN_SK_PREFIX},
            consistent=True,
            limit=limit,
        ):
            yield Campaign.model_validate(item)

    def task_token(self, account: str, campaign_id: str) -> str | None:
        """The token the campaign's observation window waits on (an operator's evaluation sends it)."""
        item = self._table.get(campaign_key(account, campaign_id), projection=("task_token",))
        return (item or {}).get("task_token")

    def paused(self) -> Iterator[Campaign]:
        """Every paused campaign of the stack, oldest pause first (gsi1, sparse; eventually consistent)."""
        for item in self._table.query("gsi1pk = :pk", {":pk": keys.PAUSED_CAMPAIGNS_PK}, index="gsi1"):
            yield Campaign.model_validate(item)

    def transition(
        self,
        account: str,
        campaign_id: str,
        *,
        source: Iterable[CampaignStatus] | None,
        target: CampaignStatus | None = None,
        fields: Mapping[str, Any] | None = None,
        remove: Iterable[str] = (),
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
        now: str,
    ) -> bool:
        """One conditional update: from one of ``source`` (any status if None) to ``target`` (the same
        if None), setting ``fields`` and removing ``remove``. False when the campaign is elsewhere."""
        fields = dict(fields or {})
        if target is not None:
            fields["status"] = str(target)
        fields["updated_at"] = now
        removed = list(remove)
        all_names = {f"#f{i}": name for i, name in enumerate(fields)}
        all_names |= {f"#r{i}": name for i, name in enumerate(removed)}
        all_names |= dict(names or {})
        all_values: Item = {f":f{i}": value for i, value in enumerate(fields.values())}
        clauses = ["attribute_exists(pk)"]
        if source is not None:
            all_names["#status"] = "status"
            sources = sorted({str(status) for status in source})
            all_values |= {f":s{i}": status for i, status in enumerate(sources)}
            clauses.append(f"#status IN ({', '.join(f':s{i}' for i in range(len(sources)))})")
        if condition:
            clauses.append(f"({condition})")
        update = "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields)))
        if removed:
            update += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removed)))
        try:
            self._table.update(
                campaign_key(account, campaign_id),
                update=update,
                condition=" AND ".join(clauses),
                names=all_names,
                values={**all_values, **(values or {})},
            )
        except ConditionFailedError:
            return False
        return True


def campaign_key(account: str, campaign_id: str) -> dict[str, str]:
    return {"pk": keys.account_pk(account), "sk": keys.campaign_sk(campaign_id)}


def paused_index_fields(paused_at: str, account: str, campaign_id: str) -> dict[str, str]:
    """The gsi1 keys that put a paused campaign in the requeue job's queue."""
    return {
        "gsi1pk": keys.PAUSED_CAMPAIGNS_PK,
        "gsi1sk": keys.paused_campaign_sk(paused_at, account, campaign_id),
    }


PAUSED_INDEX_FIELDS = ("gsi1pk", "gsi1sk")
