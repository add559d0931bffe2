"""The engine runs every BPMN construct exactly as bare SpiffWorkflow runs it — across save, reload and restart.

Each scenario of `scenarios.SCENARIOS` is played twice with the same inputs: through InsureFlow's public
operations, every step on a freshly started runtime and the second half on a second Runtime (see
`driver.run_engine`), and on bare SpiffWorkflow in memory (`driver.run_bare`). The test proves that
after every step the status and the ready human tasks agree, and that at the end the status, the
multiset of completed elements and the process data are the same. Where branches run in parallel,
Hypothesis chooses the order in which the simultaneously ready human tasks are completed. A scenario
marked xfail (strict) documents a difference observed today: it turns red once the engine is fixed.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import World

from .driver import deploy, run_bare, run_engine
from .model import Scenario, differences
from .scenarios import SCENARIOS


def _params() -> list[object]:
    """One parameter per scenario; a known difference is a strict xfail that fails only by assertion."""
    return [
        pytest.param(sc, id=sc.name,
                     marks=[pytest.mark.xfail(strict=True, raises=AssertionError, reason=sc.xfail)] if sc.xfail else [])
        for sc in SCENARIOS
    ]


@pytest.mark.parametrize("scenario", _params())
def test_the_engine_runs_the_scenario_as_spiffworkflow_does(world: World, scenario: Scenario) -> None:
    deploy(world, scenario)

    @settings(max_examples=6, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def same_outcome_in_any_order(data: st.DataObject) -> None:
        orders = [data.draw(st.permutations(range(size)), label=f"order of group {index}")
                  for index, size in enumerate(scenario.groups())]
        actions = scenario.linear(orders)
        assert differences(run_engine(world, scenario, actions), run_bare(scenario, actions)) == []

    same_outcome_in_any_order()
