"""A case whose stored state was altered (one byte flipped in `instances.state`) is reported by verify as
damaged, with exit ≠ 0 and a plain reason, and showing or changing it is a plain error — never a traceback."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from engine.audit.integrity import report_dict, verify_all
from engine.errors import DamagedStateError
from engine.workflow import instances
from engine.workflow.actors import OPERATOR
from engine.workflow.models import InstanceModel
from tests.bpmn.conftest import Insurer, insurer
from tests.bpmn.test_claims_scenarios import claim_at_assessment

__all__ = ["insurer"]


def _flip_a_byte(insurer: Insurer, case: int) -> None:
    with insurer.rt.uow() as uow:
        state = uow.session.scalar(select(InstanceModel.state).where(InstanceModel.id == case))
        middle = len(state) // 2
        altered = state[:middle] + bytes([state[middle] ^ 0x01]) + state[middle + 1:]
        uow.session.execute(update(InstanceModel).where(InstanceModel.id == case).values(state=altered))
        uow.commit()
    insurer.rt.workflows = type(insurer.rt.workflows)()  # no cached copy to hide it


def test_a_flipped_state_byte_is_a_damaged_state_in_verify_and_a_plain_error_on_show(insurer: Insurer) -> None:
    case, other = claim_at_assessment(insurer), insurer.start("policy_termination", "agent")
    assert verify_all(insurer.rt, OPERATOR).ok

    _flip_a_byte(insurer, case)

    report = verify_all(insurer.rt, OPERATOR)
    assert not report.ok and [i for i, _why in report.damaged_states] == [case]
    assert "altered or damaged" in report_dict(report)["damaged_states"][0]["reason"]
    with pytest.raises(DamagedStateError, match=f"the stored state of case {case} cannot be read"):
        instances.show_instance(insurer.rt, case, OPERATOR)
    assert instances.show_instance(insurer.rt, other, OPERATOR).open_tasks  # the others are untouched
