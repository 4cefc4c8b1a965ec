"""Case-level intake of ticket messages: customer contacts, teammates' public updates, DNR claims."""

from __future__ import annotations

from datetime import datetime

from wismo.handlers.base import ContactInfo

from wismo.case import CaseState, Contact
from wismo.context import OrderContext


def record_contact(case: CaseState, ctx: OrderContext | None, contact: ContactInfo, at: datetime) -> None:
    """Count a customer contact on the case and remember its ticket (updates go to the existing ticket).
    A "not received" claim made after a carrier delivery scan marks the case delivered-not-received."""
    case.contacts.append(
        Contact(
            event_id=contact.event_id,
            ticket_id=contact.ticket_id,
            channel=contact.channel,
            at=at,
            intents=sorted(contact.intents),
        )
    )
    case.prior_contact_count = len(case.contacts)
    case.open_ticket_id = contact.ticket_id
    case.open_ticket_channel = contact.channel
    if ctx is not None:
        ctx.tickets[contact.ticket_id] = contact.channel
        if (
            "not_received" in contact.intents
            and case.dnr_claimed_at is None
            and any(s.delivered and s.delivered_at is not None and s.delivered_at <= at for s in ctx.shipments.values())
        ):
            case.dnr_claimed_at = at


def record_human_update(case: CaseState, ctx: OrderContext | None, ticket_id: str, channel: str, at: datetime) -> None:
    """A teammate's public reply: automated replies are suppressed while it is the newest update."""
    if ctx is not None:
        ctx.tickets[ticket_id] = channel
        if ctx.last_human_public_update_at is None or at > ctx.last_human_public_update_at:
            ctx.last_human_public_update_at = at
    if case.open_ticket_id is None:
        case.open_ticket_id = ticket_id
        case.open_ticket_channel = channel
