"""Demo reference data: products and their rate and surrender tables, surveyors and examiners, a
watch list, customers with policies — an insurer's world small enough to read.

Every date is counted back from the instance's clock when `init --demo` runs, so the demo tells the
same story on any day of any year. Public holidays are not seeded: they come from the business
calendar (tasks/business_calendar.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tasks.beneficiaries import designate
from tasks.crypto import PersonalDataCipher
from tasks.handlers.sales import add_years
from tasks.idcard import check_digit
from tasks.office_records import SurveyorRecord
from tasks.records import CustomerRecord, PolicyRecord, ProductRecord, RateRecord, SurrenderValueRecord, WatchListRecord

PRODUCTS = [
    # code, name, Chinese name, line, risk, min age, max age, claim types, deductible
    ("MED01", "Medical Care Plus", "医疗保障加", "medical", "low", 0, 65, ["hospitalization", "outpatient"], "500"),
    ("ACC01", "Accident Shield", "意外护盾", "accident", "low", 18, 70,
     ["accident_injury", "disability", "death"], "0"),
    ("LIFE20", "Term Life 20", "定期寿险20", "life", "medium", 18, 60, ["death", "disability"], "0"),
    ("HOME01", "Home Protect", "家财保", "property", "low", 18, 80, ["property_damage", "total_loss"], "1000"),
    ("INV01", "Wealth Builder (investment-linked)", "财富积累投连险", "savings", "high", 18, 65, ["death"], "0"),
]
AGE_BANDS = [(0, 17), (18, 30), (31, 40), (41, 50), (51, 60), (61, 70), (71, 80)]
TERMS = [1, 5, 10, 20, 30]
BASE_RATE = {"MED01": "1.80", "ACC01": "0.90", "LIFE20": "1.20", "HOME01": "0.60", "INV01": "9.50"}
AGE_FACTOR = [Decimal("0.8"), Decimal("1.0"), Decimal("1.3"), Decimal("1.9"), Decimal("2.8"), Decimal("4.0"),
              Decimal("5.5")]
SURRENDER = {"LIFE20": [0, 20, 35, 50, 60, 70, 75, 80, 85, 90], "INV01": [70, 80, 85, 90, 92, 94, 96, 98, 99, 100]}
REGIONS = ["beijing", "shanghai", "guangzhou", "shenzhen", "chengdu", "hangzhou"]
SURVEYORS = [
    ("surveyor.wang", "Wang Lei 王磊", ["beijing"]),
    ("surveyor.li", "Li Na 李娜", ["beijing", "hangzhou"]),
    ("surveyor.zhang", "Zhang Wei 张伟", ["shanghai", "hangzhou"]),
    ("surveyor.chen", "Chen Jie 陈杰", ["guangzhou", "shenzhen"]),
    ("surveyor.liu", "Liu Yang 刘洋", ["shenzhen"]),
    ("surveyor.zhao", "Zhao Min 赵敏", ["chengdu"]),
]
EXAMINERS = [(f"clinic.{region}", f"{region.title()} Health Check Centre", [region]) for region in REGIONS]


def id_number(region: str, birth: date, sequence: int) -> str:
    """A well-formed resident ID number (GB 11643) for demo people."""
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_digit(first17)


CUSTOMERS = [
    # name, region code, birth date, sequence (odd = male), phone, region
    ("Li Hua 李华", "110105", date(1985, 3, 14), 101, "13812345601", "beijing"),
    ("Wang Fang 王芳", "310104", date(1990, 7, 2), 202, "13912345602", "shanghai"),
    ("Zhang Qiang 张强", "440106", date(1978, 11, 23), 303, "13712345603", "guangzhou"),
    ("Liu Mei 刘梅", "510107", date(1995, 1, 9), 404, "13612345604", "chengdu"),
    ("Chen Gang 陈刚", "330106", date(1969, 5, 30), 505, "13512345605", "hangzhou"),
    ("Zhou Xin 周鑫", "440305", date(2001, 9, 17), 607, "15012345606", "shenzhen"),
    ("Zhao Jun 赵军", "330102", date(1972, 4, 8), 711, "13312345607", "hangzhou"),
]
# The demo's watch-list entry: a name and the ID number it is matched by.
WATCHED = ("Hu Heiming 胡黑名", id_number("110101", date(1972, 8, 8), 909))
# Policies already in force: customer index, product, sum insured, term (years), days in force when the
# demo is made, annual premium. Two are young on purpose: PDEMO0004, because a large accident claim within
# 30 days of the start is what the fraud screening refers to the SIU; PDEMO0006, still in its waiting period.
POLICIES = [
    (0, "MED01", "200000", 5, 550, "1296.00"),
    (1, "HOME01", "1500000", 10, 995, "900.00"),
    (2, "LIFE20", "1000000", 20, 1190, "2280.00"),
    (3, "ACC01", "500000", 5, 20, "450.00"),
    (4, "HOME01", "800000", 10, 690, "1520.00"),
    (5, "MED01", "100000", 1, 10, "180.00"),
    (6, "LIFE20", "500000", 20, 800, "1560.00"),
]
# Named beneficiaries of the demo policies (the others go to the legal heirs): PDEMO0007, Zhao Jun's term life,
# names his wife and his son; the demo leaves the wife's death claim waiting for the adjuster.
# policy index → (name, region code, birth date, sequence, relation, share)
BENEFICIARIES = {
    7: [("Qian Hong 钱红", "330102", date(1975, 6, 20), 822, "spouse", 60),
        ("Zhao Lei 赵磊", "330102", date(2000, 2, 14), 933, "child", 40)],
}


def seed_reference_data(session: Session, now: datetime) -> bool:
    """Products, rates, surrender values, surveyors and examiners; False when already there."""
    if session.get(ProductRecord, "MED01") is not None:
        return False
    for code, name, name_zh, line, risk, min_age, max_age, claim_types, deductible in PRODUCTS:
        session.add(ProductRecord(code=code, name=name, name_zh=name_zh, line=line, risk_level=risk, min_age=min_age,
                                  max_age=max_age, claim_types=claim_types, deductible=Decimal(deductible)))
    session.flush()
    for code, *_ in PRODUCTS:
        for (age_min, age_max), factor in zip(AGE_BANDS, AGE_FACTOR, strict=True):
            for term in TERMS:
                term_factor = Decimal("1") + Decimal(term) / Decimal("100")
                rate = (Decimal(BASE_RATE[code]) * factor * term_factor).quantize(Decimal("0.0001"))
                session.add(RateRecord(product_code=code, age_min=age_min, age_max=age_max, term_years=term,
                                       rate_per_thousand=rate))
    for code, percents in SURRENDER.items():
        for year, percent in enumerate(percents, start=1):
            session.add(SurrenderValueRecord(product_code=code, policy_year=year, percent_of_premiums=Decimal(percent)))
    for username, name, regions in SURVEYORS:
        session.add(SurveyorRecord(username=username, name=name, kind="surveyor", regions=regions,
                                   work_start=time(9), work_end=time(17), slot_minutes=120))
    for username, name, regions in EXAMINERS:
        session.add(SurveyorRecord(username=username, name=name, kind="examiner", regions=regions,
                                   work_start=time(8, 30), work_end=time(16, 30), slot_minutes=60))
    session.flush()
    return True


def seed_customers(session: Session, cipher: PersonalDataCipher, now: datetime) -> list[CustomerRecord]:
    """Demo customers, each with a policy in force, plus a watch-list entry; idempotent."""
    customers = []
    for name, region_code, birth, sequence, phone, region in CUSTOMERS:
        number = id_number(region_code, birth, sequence)
        digest = cipher.lookup_hash(number)
        customer = session.scalar(select(CustomerRecord).where(CustomerRecord.id_number_hash == digest))
        if customer is None:
            customer = CustomerRecord(name=name, id_number_enc=cipher.encrypt(number), id_number_hash=digest,
                                      birth_date=birth, gender="M" if sequence % 2 else "F",
                                      phone_enc=cipher.encrypt(phone), region=region, consent_at=now, created_at=now)
            session.add(customer)
            session.flush()
        customers.append(customer)
    today = now.date()
    for index, (who, product, sum_insured, term, days_in_force, premium) in enumerate(POLICIES, start=1):
        number = f"PDEMO{index:04d}"
        if session.scalar(select(PolicyRecord).where(PolicyRecord.number == number)) is not None:
            continue
        holder, start = customers[who], today - timedelta(days=days_in_force)
        session.add(PolicyRecord(
            number=number, product_code=product, holder_id=holder.id, insured_id=holder.id, beneficiary_ids=[],
            sum_insured=Decimal(sum_insured), remaining_sum_insured=Decimal(sum_insured),
            annual_premium=Decimal(premium), term_years=term, start_date=start, end_date=add_years(start, term),
            cooling_off_end=None, status="in_force", premiums_paid=Decimal(premium) * policy_years(start, today),
            issued_at=datetime.combine(start, time(9), tzinfo=UTC)))
        if index in BENEFICIARIES:
            session.flush()
            policy = session.scalars(select(PolicyRecord).where(PolicyRecord.number == number)).one()
            designate(session, cipher, policy, beneficiary_designation(index), now)
    # A listed person is named with their ID number: underwriting matches its keyed hash plus the name.
    watched, watched_number = WATCHED
    if session.scalar(select(WatchListRecord).where(WatchListRecord.name == watched)) is None:
        session.add(WatchListRecord(name=watched, id_number_hash=cipher.lookup_hash(watched_number),
                                    reason="sanctions list (demo)", listed_on=now.date()))
    session.flush()
    return customers


def policy_years(start: date, today: date) -> int:
    """The policy years begun by `today`: one annual premium is paid at the start of each."""
    years = 1
    while add_years(start, years) <= today:
        years += 1
    return years


def beneficiary_designation(policy: int) -> list[dict[str, Any]]:
    """The named beneficiaries of demo policy PDEMO000<policy> as the application form gives them."""
    return [{"name": name, "id_number": id_number(region_code, birth, sequence), "relation": relation, "share": share}
            for name, region_code, birth, sequence, relation, share in BENEFICIARIES.get(policy, [])]


def demo_identity(index: int) -> tuple[str, str, str]:
    """(name, ID number, phone) of a demo customer, for scripts and the demo story."""
    name, region_code, birth, sequence, phone, _region = CUSTOMERS[index]
    return name, id_number(region_code, birth, sequence), phone
