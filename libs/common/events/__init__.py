"""Event envelope and contracts."""

from libs.common.events.contracts import BY_ROUTING_KEY, CONTRACTS, run_subject
from libs.common.events.envelope import Envelope, Event

__all__ = ["BY_ROUTING_KEY", "CONTRACTS", "Envelope", "Event", "run_subject"]
