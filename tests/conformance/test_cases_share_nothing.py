"""Cases of one deployment share its cached, parsed spec: what one case triggers must not change another.

Three cases of the withdrawal diagram (a message-started event subprocess) run interleaved on one runtime
whose spec and workflow caches are kept, as in a long-running web worker: A is withdrawn, B was started
before that and C after it; neither B nor C receives the message. Each must end exactly as bare
SpiffWorkflow ends the same case run alone.
"""

from __future__ import annotations

from tests.conformance.driver import START, EngineCase, EngineRun, deploy, run_bare
from tests.conformance.model import Complete, Message, differences
from tests.conformance.scenarios import named, s
from tests.conftest import World

WITHDRAWN = named("event_subprocess_message_interrupting")
UNTOUCHED = s("withdrawal_not_triggered", "evsub_message_interrupting.bpmn", {}, Complete("work", {"worked": True}))


def test_a_case_is_not_affected_by_another_cases_event_subprocess(world: World) -> None:
    deploy(world, WITHDRAWN)
    world.clock.now = START
    run = EngineRun.on(world)
    try:
        first, before, after = (EngineCase(run, sc, restart=False) for sc in (WITHDRAWN, UNTOUCHED, UNTOUCHED))
        first.start()
        before.start()
        first.play(Message("withdraw", {"why": "sold the car"}))
        after.start()
        first.play(Complete("confirm", {"confirmed": True}))
        first.play(Complete("work", {"worked": True}))
        for case in (before, after):
            case.play(Complete("work", {"worked": True}))
        expected = run_bare(UNTOUCHED, list(UNTOUCHED.script))
        assert differences(first.finish(), run_bare(WITHDRAWN, WITHDRAWN.linear([[1, 0]]))) == []
        assert differences(before.finish(), expected) == []
        assert differences(after.finish(), expected) == []
    finally:
        run.close()


def test_the_untouched_case_alone_conforms(world: World) -> None:
    """The control: the same untouched case, run alone on its own cached spec, ends as SpiffWorkflow ends it."""
    deploy(world, UNTOUCHED)
    world.clock.now = START
    run = EngineRun.on(world)
    try:
        case = EngineCase(run, UNTOUCHED, restart=False)
        case.start()
        case.play(Complete("work", {"worked": True}))
        assert differences(case.finish(), run_bare(UNTOUCHED, list(UNTOUCHED.script))) == []
    finally:
        run.close()
