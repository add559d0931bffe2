"""Rate limits counted in the database: a sliding window per key, shared by every worker, keys never stored
in clear, stale hits swept by the worker."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from engine import worker
from engine.identity import rate_limits
from engine.identity.rate_limits import RateLimit
from engine.workflow.models import RateLimitHitModel
from tests.conftest import World

RULE = RateLimit("sign-in failures", 5, 900)


def _wait(world: World, *keys: str) -> float:
    with world.rt.uow(read_only=True) as uow:
        return rate_limits.wait_seconds(uow.session, RULE, keys, world.clock())


def _hit(world: World, *keys: str) -> None:
    with world.rt.uow() as uow:
        rate_limits.hit(uow.session, RULE, keys, world.clock())
        uow.commit()


def test_the_limit_lasts_only_for_the_window(world: World) -> None:
    for _ in range(5):
        _hit(world, "user:x")
        world.clock.advance(seconds=1)
    assert _wait(world, "user:x") == 900 - 5  # until the first of the five (5 s ago) leaves the window
    world.clock.advance(seconds=600)
    assert _wait(world, "user:x") == 295
    world.clock.advance(seconds=295)
    assert _wait(world, "user:x") == 0


def test_keys_count_apart_and_the_longest_wait_of_several_keys_applies(world: World) -> None:
    for _ in range(5):
        _hit(world, "user:x", "addr:1")
    world.clock.advance(seconds=100)
    for _ in range(5):
        _hit(world, "addr:2")
    assert _wait(world, "user:y") == 0
    assert _wait(world, "user:y", "addr:1") == 800
    assert _wait(world, "addr:1", "addr:2") == 900


def test_allow_counts_only_what_it_lets_through(world: World) -> None:
    rule = RateLimit("claim status look-ups", 2, 60)
    with world.rt.uow() as uow:
        answers = [rate_limits.allow(uow.session, rule, "addr:9", world.clock()) for _ in range(4)]
        uow.commit()
    assert answers == [0.0, 0.0, 60.0, 60.0]
    with world.rt.uow(read_only=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(RateLimitHitModel)) == 2


def test_a_success_resets_the_name_and_other_limits_are_apart(world: World) -> None:
    other = RateLimit("claim status look-ups", 5, 900)
    for _ in range(5):
        _hit(world, "user:x")
    with world.rt.uow() as uow:
        assert rate_limits.wait_seconds(uow.session, other, ("user:x",), world.clock()) == 0
        rate_limits.reset(uow.session, RULE, "user:x")
        uow.commit()
    assert _wait(world, "user:x") == 0


def test_addresses_and_names_are_never_stored_in_clear(world: World) -> None:
    _hit(world, "addr:203.0.113.77", "user:li.hua")
    with world.rt.uow(read_only=True) as uow:
        keys = uow.session.scalars(select(RateLimitHitModel.key)).all()
    assert len(keys) == 2 and all(len(k) == 64 and "203.0.113" not in k and "li.hua" not in k for k in keys)


def test_the_worker_forgets_hits_of_keys_that_went_quiet(world: World) -> None:
    _hit(world, "addr:old")
    world.clock.advance(hours=30)
    _hit(world, "addr:new")
    report = worker.tick(world.rt)
    assert report.rate_limit_hits_forgotten == 1
    assert worker.tick(world.rt).rate_limit_hits_forgotten == 0
    with world.rt.uow(read_only=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(RateLimitHitModel)) == 1
    assert timedelta(days=1) == worker.RATE_LIMIT_MEMORY
