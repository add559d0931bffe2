"""Survey and medical-exam scheduling: who gets the job, which slot, once per step, and no double booking."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import count

import pytest
from sqlalchemy import func, select

from engine.registry import BpmnError
from tasks.handlers.scheduling import (
    LOCAL_TZ,
    Slot,
    day_slots,
    first_free_slot,
    schedule_medical_exam,
    schedule_survey,
)
from tasks.office_records import AppointmentRecord, CompanyDayRecord, SurveyorRecord
from tasks.records import ClaimRecord, ClaimStatusRecord, CustomerRecord, PolicyRecord, ProductRecord

_seq = count(1)
# November 2026: Monday the 2nd … Friday the 6th, Saturday 7, Sunday 8, Monday 9, Tuesday 10.
MON, TUE, WED, FRI, SAT, SUN, NEXT_MON, NEXT_TUE = (date(2026, 11, d) for d in (2, 3, 4, 6, 7, 8, 9, 10))


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A Shanghai wall-clock moment as an aware UTC datetime."""
    return datetime.combine(day, time(hour, minute), tzinfo=LOCAL_TZ).astimezone(UTC)


def add_surveyor(session, username: str, regions: list[str], *, kind: str = "surveyor", active: bool = True,
                 start: time = time(9), end: time = time(17), slot_minutes: int = 120) -> SurveyorRecord:
    surveyor = SurveyorRecord(username=username, name=username.title(), kind=kind, regions=regions, work_start=start,
                              work_end=end, slot_minutes=slot_minutes, active=active)
    session.add(surveyor)
    session.flush()
    return surveyor


def add_customer(session, cipher) -> CustomerRecord:
    n = next(_seq)
    id_number = f"11010119900101{n:04d}"
    customer = CustomerRecord(name=f"Customer {n}", id_number_enc=cipher.encrypt(id_number),
                              id_number_hash=cipher.lookup_hash(id_number), birth_date=date(1990, 1, 1),
                              consent_at=datetime(2026, 1, 1, tzinfo=UTC), created_at=datetime(2026, 1, 1, tzinfo=UTC))
    session.add(customer)
    session.flush()
    return customer


def add_claim(session, cipher, region: str = "shanghai") -> ClaimRecord:
    customer = add_customer(session, cipher)
    if session.get(ProductRecord, "HOME1") is None:
        session.add(ProductRecord(code="HOME1", name="Home", name_zh="家财险", line="property", risk_level="low",
                                  min_age=18, max_age=80, claim_types=["property_damage"], deductible=Decimal("500")))
        session.flush()
    n = next(_seq)
    policy = PolicyRecord(number=f"P{n:08d}", product_code="HOME1", holder_id=customer.id, insured_id=customer.id,
                          sum_insured=Decimal("100000"), remaining_sum_insured=Decimal("100000"),
                          annual_premium=Decimal("800"), term_years=1, start_date=date(2026, 1, 1),
                          end_date=date(2026, 12, 31), status="in_force", issued_at=datetime(2026, 1, 1, tzinfo=UTC))
    session.add(policy)
    session.flush()
    claim = ClaimRecord(number=f"C{n:08d}", policy_id=policy.id, claimant_id=customer.id,
                        incident_date=date(2026, 10, 30), claim_type="property_damage", claimed_amount=Decimal("20000"),
                        payee_account_enc=cipher.encrypt("6222020000000000"), payee_account_hash="h" * 64,
                        region=region, status="under_review", check_code="0001",
                        reported_at=datetime(2026, 10, 31, tzinfo=UTC))
    session.add(claim)
    session.flush()
    return claim


def book(session, surveyor: SurveyorRecord, starts_at: datetime, minutes: int = 120) -> AppointmentRecord:
    """An existing appointment (another case's)."""
    appointment = AppointmentRecord(surveyor_id=surveyor.id, claim_id=None, purpose="survey",
                                    reference=f"other-{next(_seq)}", starts_at=starts_at,
                                    ends_at=starts_at + timedelta(minutes=minutes), created_at=starts_at)
    session.add(appointment)
    session.flush()
    return appointment


def survey_at(domain, session, moment: datetime, region: str = "shanghai", key: str | None = None) -> dict:
    """Schedule a survey for a fresh claim with the clock at `moment`."""
    domain.clock.now = moment
    claim = add_claim(session, domain.services.cipher, region)
    return schedule_survey(domain.ctx(session, key=key or f"k-{next(_seq)}"), claim.id, region)


# --- the pure slot arithmetic ----------------------------------------------------------------------


def test_day_slots_are_consecutive_blocks_from_work_start_that_end_by_work_end() -> None:
    slots = day_slots(TUE, time(9), time(18), 120)
    assert [s.starts_at for s in slots] == [local(TUE, h) for h in (9, 11, 13, 15)]
    assert slots[-1].ends_at == local(TUE, 17)  # 17:00–19:00 would run past 18:00
    assert slots[0].starts_at == datetime(2026, 11, 3, 1, 0, tzinfo=UTC)  # Shanghai is UTC+8


def test_first_free_slot_skips_past_and_overlapping_slots() -> None:
    slots = day_slots(TUE, time(9), time(17), 60)
    booked = [Slot(local(TUE, 10, 30), local(TUE, 11, 30))]  # a booking made with another slot length
    assert first_free_slot(slots, local(TUE, 9, 10), booked) == Slot(local(TUE, 12), local(TUE, 13))
    assert first_free_slot(slots, local(TUE, 16, 1), []) is None


# --- who gets the survey ---------------------------------------------------------------------------


def test_the_least_loaded_surveyor_gets_the_survey_counting_only_appointments_from_now_on(domain) -> None:
    with domain.session_factory() as session, session.begin():
        busy = add_surveyor(session, "amy", ["shanghai"])
        idle = add_surveyor(session, "bob", ["shanghai"])
        book(session, busy, local(WED, 9))
        for day in (date(2026, 10, 26), date(2026, 10, 27), date(2026, 10, 28)):
            book(session, idle, local(day, 9))  # past work is no load
        result = survey_at(domain, session, local(TUE, 8))
    assert result["surveyor"] == "bob"


def test_equal_load_goes_to_the_earliest_free_slot_then_the_user_name(domain) -> None:
    with domain.session_factory() as session, session.begin():
        add_surveyor(session, "amy", ["shanghai"], start=time(10), end=time(18))
        add_surveyor(session, "bob", ["shanghai"])
        add_surveyor(session, "cat", ["shanghai"])
        first = survey_at(domain, session, local(TUE, 8))
        # bob now has one, amy and cat none: amy (10:00) and cat (09:00) tie on load, cat starts earlier
        second = survey_at(domain, session, local(TUE, 8))
        third = survey_at(domain, session, local(TUE, 8))
    assert (first["surveyor"], second["surveyor"], third["surveyor"]) == ("bob", "cat", "amy")


def test_only_surveyors_covering_the_region_are_considered(domain) -> None:
    with domain.session_factory() as session, session.begin():
        add_surveyor(session, "amy", ["beijing"])
        local_one = add_surveyor(session, "bob", ["shanghai", "suzhou"])
        book(session, local_one, local(WED, 9))
        result = survey_at(domain, session, local(TUE, 8), region="suzhou")
    assert result["surveyor"] == "bob"


def test_inactive_surveyors_and_examiners_are_not_sent_to_surveys(domain) -> None:
    with domain.session_factory() as session, session.begin():
        add_surveyor(session, "amy", ["shanghai"], active=False)
        add_surveyor(session, "dr_li", ["shanghai"], kind="examiner")
        loaded = add_surveyor(session, "bob", ["shanghai"])
        book(session, loaded, local(WED, 9))
        result = survey_at(domain, session, local(TUE, 8))
    assert result["surveyor"] == "bob"


def test_no_surveyor_for_the_region_is_the_no_surveyor_bpmn_error(domain) -> None:
    with domain.session_factory() as session, session.begin():
        add_surveyor(session, "amy", ["beijing"])
        add_surveyor(session, "bob", ["hangzhou"], active=False)
        with pytest.raises(BpmnError) as caught:
            survey_at(domain, session, local(TUE, 8), region="hangzhou")
    assert caught.value.code == "no_surveyor"
    assert caught.value.message == "no surveyor covers region hangzhou"


def test_surveyors_with_no_free_slot_in_the_search_horizon_are_the_no_surveyor_bpmn_error(domain) -> None:
    with domain.session_factory() as session, session.begin():
        add_surveyor(session, "amy", ["shanghai"], start=time(9), end=time(10), slot_minutes=120)  # no slot fits
        with pytest.raises(BpmnError) as caught:
            survey_at(domain, session, local(TUE, 8))
        assert session.scalar(select(func.count()).select_from(AppointmentRecord)) == 0
    assert caught.value.code == "no_surveyor"
    assert "has a free slot" in caught.value.message


# --- which slot ------------------------------------------------------------------------------------


def test_a_request_on_friday_evening_gets_the_first_slot_on_monday(domain) -> None:
    with domain.session_factory() as session, session.begin():
        add_surveyor(session, "amy", ["shanghai"])
        result = survey_at(domain, session, local(FRI, 18, 30))
    assert result["starts_at"] == local(NEXT_MON, 9).isoformat()
    assert result["ends_at"] == local(NEXT_MON, 11).isoformat()


@pytest.mark.parametrize("day", [SAT, SUN], ids=["saturday", "sunday"])
def test_weekend_days_are_skipped(domain, day: date) -> None:
    with domain.session_factory() as session, session.begin():
        add_surveyor(session, "amy", ["shanghai"])
        result = survey_at(domain, session, local(day, 10))
    assert result["starts_at"] == local(NEXT_MON, 9).isoformat()


def test_a_company_closed_day_is_skipped(domain) -> None:
    with domain.session_factory() as session, session.begin():
        add_surveyor(session, "amy", ["shanghai"])
        session.add(CompanyDayRecord(day=NEXT_MON, working=False, name="Company day"))
        result = survey_at(domain, session, local(FRI, 18, 30))
    assert result["starts_at"] == local(NEXT_TUE, 9).isoformat()


def test_a_weekend_day_the_company_opens_gets_slots(domain) -> None:
    with domain.session_factory() as session, session.begin():
        add_surveyor(session, "amy", ["shanghai"])
        session.add(CompanyDayRecord(day=SAT, working=True, name="Claims clearance Saturday"))
        result = survey_at(domain, session, local(FRI, 18, 30))
    assert result["starts_at"] == local(SAT, 9).isoformat()


def test_the_national_day_holiday_is_skipped(domain) -> None:
    # 2026: 1–7 October off by the State Council's notice (the 5th–7th in exchange for two weekend days).
    with domain.session_factory() as session, session.begin():
        add_surveyor(session, "amy", ["shanghai"])
        result = survey_at(domain, session, local(date(2026, 9, 30), 17, 30))
    assert result["starts_at"] == local(date(2026, 10, 8), 9).isoformat()


def test_an_adjusted_working_saturday_gets_slots(domain) -> None:
    # Saturday 10 October 2026 is worked (调休) in exchange for the National Day week.
    with domain.session_factory() as session, session.begin():
        add_surveyor(session, "amy", ["shanghai"])
        result = survey_at(domain, session, local(date(2026, 10, 9), 17, 30))
    assert result["starts_at"] == local(date(2026, 10, 10), 9).isoformat()


def test_a_fully_booked_day_moves_to_the_next_working_day(domain) -> None:
    with domain.session_factory() as session, session.begin():
        amy = add_surveyor(session, "amy", ["shanghai"])
        for hour in (9, 11, 13, 15):
            book(session, amy, local(TUE, hour))
        result = survey_at(domain, session, local(TUE, 8))
    assert result["starts_at"] == local(WED, 9).isoformat()


def test_a_request_between_boundaries_gets_the_next_slot_boundary(domain) -> None:
    with domain.session_factory() as session, session.begin():
        add_surveyor(session, "amy", ["shanghai"], start=time(9), end=time(17), slot_minutes=120)
        result = survey_at(domain, session, local(TUE, 9, 10))
    assert result["starts_at"] == local(TUE, 11).isoformat()
    assert result["ends_at"] == local(TUE, 13).isoformat()


def test_times_are_utc_and_fall_within_local_working_hours(domain) -> None:
    with domain.session_factory() as session, session.begin():
        add_surveyor(session, "amy", ["shanghai"], start=time(8, 30), end=time(17, 30), slot_minutes=90)
        result = survey_at(domain, session, local(TUE, 16, 10))
    starts, ends = datetime.fromisoformat(result["starts_at"]), datetime.fromisoformat(result["ends_at"])
    assert starts.utcoffset() == timedelta(0) and ends.utcoffset() == timedelta(0)
    assert starts == local(WED, 8, 30)  # after 16:00 the next block, 17:30–19:00, would run past 17:30
    local_start, local_end = starts.astimezone(LOCAL_TZ), ends.astimezone(LOCAL_TZ)
    assert local_start.date() == local_end.date() == WED
    assert time(8, 30) <= local_start.time() and local_end.time() <= time(17, 30)


def test_a_slot_taken_unseen_by_a_concurrent_booking_moves_to_the_next_slot(domain) -> None:
    with domain.session_factory() as session, session.begin():
        amy = add_surveyor(session, "amy", ["shanghai"])
        # Holds Tuesday 09:00 under the unique key but ends before "now", so the search cannot see it —
        # as with a concurrent booking this transaction does not see yet.
        session.add(AppointmentRecord(surveyor_id=amy.id, purpose="survey", reference="unseen",
                                      starts_at=local(TUE, 9), ends_at=local(TUE, 7), created_at=local(TUE, 7)))
        session.flush()
        result = survey_at(domain, session, local(TUE, 8))
        # the savepoint kept the transaction usable: the rest of the step's writes are there
        assert session.scalar(select(func.count()).select_from(AppointmentRecord)) == 2
    assert result["starts_at"] == local(TUE, 11).isoformat()


# --- the record, the claim, once per step ----------------------------------------------------------


def test_the_booking_is_recorded_and_the_claim_moves_to_survey_scheduled(domain) -> None:
    domain.clock.now = local(TUE, 8)
    with domain.session_factory() as session, session.begin():
        amy = add_surveyor(session, "amy", ["shanghai"])
        claim = add_claim(session, domain.services.cipher)
        result = schedule_survey(domain.ctx(session, key="7:survey"), claim.id, "shanghai")
    with domain.session_factory() as session:
        appointment = session.get_one(AppointmentRecord, result["appointment_id"])
        assert (appointment.surveyor_id, appointment.claim_id, appointment.purpose, appointment.reference) == (
            amy.id, claim.id, "survey", "7:survey")
        assert session.get_one(ClaimRecord, claim.id).status == "survey_scheduled"
        timeline = session.scalars(select(ClaimStatusRecord.status).where(ClaimStatusRecord.claim_id == claim.id))
        assert list(timeline) == ["survey_scheduled"]


def test_a_retry_with_the_same_key_returns_the_same_appointment(domain) -> None:
    domain.clock.now = local(TUE, 8)
    with domain.session_factory() as session, session.begin():
        add_surveyor(session, "amy", ["shanghai"])
        add_surveyor(session, "bob", ["shanghai"])
        claim = add_claim(session, domain.services.cipher)
        first = schedule_survey(domain.ctx(session, key="9:survey"), claim.id, "shanghai")
    assert first["surveyor"] == "amy"
    domain.clock.advance(hours=3)  # later, and bob is now the less loaded: the retry still returns amy's booking
    with domain.session_factory() as session, session.begin():
        again = schedule_survey(domain.ctx(session, key="9:survey"), claim.id, "shanghai")
        assert session.scalar(select(func.count()).select_from(AppointmentRecord)) == 1
    assert again == first


def test_a_medical_exam_goes_to_an_examiner_and_belongs_to_no_claim(domain) -> None:
    domain.clock.now = local(FRI, 18, 30)
    with domain.session_factory() as session, session.begin():
        add_surveyor(session, "amy", ["shanghai"])
        add_surveyor(session, "dr_wu", ["shanghai"], kind="examiner", active=False)
        add_surveyor(session, "dr_li", ["shanghai"], kind="examiner", start=time(8), end=time(12), slot_minutes=30)
        customer = add_customer(session, domain.services.cipher)
        result = schedule_medical_exam(domain.ctx(session, key="3:exam"), customer.id, "shanghai")
        again = schedule_medical_exam(domain.ctx(session, key="3:exam"), customer.id, "shanghai")
        appointment = session.get_one(AppointmentRecord, result["appointment_id"])
        assert (appointment.purpose, appointment.claim_id) == ("medical_exam", None)
        with pytest.raises(BpmnError) as caught:
            schedule_medical_exam(domain.ctx(session, key="4:exam"), customer.id, "beijing")
    assert result == again == {"appointment_id": appointment.id, "examiner": "dr_li", "examiner_name": "Dr_Li",
                               "local_time": f"{NEXT_MON:%Y-%m-%d} 08:00",
                               "starts_at": local(NEXT_MON, 8).isoformat(),
                               "ends_at": local(NEXT_MON, 8, 30).isoformat()}
    assert caught.value.code == "no_surveyor"


# --- concurrency -----------------------------------------------------------------------------------

ROUNDS = 4


def test_two_claims_scheduled_at_the_same_moment_never_share_a_slot(domain) -> None:
    """Two transactions race for the only surveyor (on SQLite the engine's BEGIN IMMEDIATE serialises
    them; on PostgreSQL they really race and the unique key turns the loser to the next slot)."""
    now = local(TUE, 8)
    domain.clock.now = now
    with domain.session_factory() as session, session.begin():
        amy = add_surveyor(session, "amy", ["shanghai"])
        claims = [add_claim(session, domain.services.cipher).id for _ in range(2 * ROUNDS)]
    for round_no in range(ROUNDS):
        barrier = threading.Barrier(2)
        results: dict[int, dict] = {}
        errors: list[BaseException] = []

        def race(i: int, claim_id: int, round_no: int = round_no, barrier: threading.Barrier = barrier,
                 results: dict[int, dict] = results, errors: list[BaseException] = errors) -> None:
            try:
                barrier.wait(timeout=30)
                with domain.session_factory() as session, session.begin():
                    ctx = domain.ctx(session, instance_id=100 + i, key=f"race-{round_no}-{i}")
                    results[i] = schedule_survey(ctx, claim_id, "shanghai")
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=race, args=(i, claims[2 * round_no + i])) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors, errors
        assert results[0]["starts_at"] != results[1]["starts_at"]
    with domain.session_factory() as session:
        starts = list(session.scalars(select(AppointmentRecord.starts_at).where(AppointmentRecord.surveyor_id == amy.id)
                                      .order_by(AppointmentRecord.starts_at)))
    # every booking landed, each in its own slot, with none skipped: Tuesday's four, then Wednesday's
    assert starts == [local(TUE, h) for h in (9, 11, 13, 15)] + [local(WED, h) for h in (9, 11, 13, 15)]
