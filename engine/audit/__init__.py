"""Audit: what auditors and the operator do with the record — find and step through cases, reveal masked data,
verify chains, seals and deployments, signed checkpoints, and replay from the recorded inputs. Builds on
engine.workflow (and engine.authoring's migration record for replay).
"""

from .integrity import (
    check_checkpoint,
    check_dict,
    make_checkpoint,
    report_dict,
    verify_all,
    verify_case,
    write_signed_checkpoint,
)
from .replay import ReplayResult, replay_all, replay_instance

__all__ = [
    "ReplayResult",
    "check_checkpoint",
    "check_dict",
    "make_checkpoint",
    "replay_all",
    "replay_instance",
    "report_dict",
    "verify_all",
    "verify_case",
    "write_signed_checkpoint",
]
