"""Identity: salted password hashes, user creation rules, hashed API tokens, and actors of active users only."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker

from engine.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from engine.identity.users import add_user, check_password, create_token, hash_password
from engine.workflow.actors import OPERATOR, Actor, actor_for, actor_for_token, require
from engine.workflow.models import ApiTokenModel, Base, UserModel
from engine.workflow.settings import EngineSettings
from engine.workflow.unit_of_work import UnitOfWork

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SETTINGS = EngineSettings()


@pytest.fixture
def session() -> Iterator[Session]:
    db = create_engine("sqlite://")
    Base.metadata.create_all(db)
    with Session(db) as s:
        yield s
    db.dispose()


@pytest.fixture
def uow() -> Iterator[UnitOfWork]:
    db = create_engine("sqlite://")
    Base.metadata.create_all(db)
    with UnitOfWork(sessionmaker(db)) as unit:
        yield unit
    db.dispose()


@pytest.fixture(scope="module")
def stored() -> str:
    """One stored hash of "s3cret" (scrypt is slow on purpose; hash once)."""
    return hash_password("s3cret")


# --- passwords ----------------------------------------------------------------------------------

def test_a_password_checks_against_its_own_hash(stored: str) -> None:
    assert check_password(stored, "s3cret")


def test_a_wrong_password_does_not_check(stored: str) -> None:
    assert not check_password(stored, "S3cret")
    assert not check_password(stored, "")


def test_hashes_are_salted_so_the_same_password_hashes_differently(stored: str) -> None:
    again = hash_password("s3cret")
    assert again != stored
    assert check_password(again, "s3cret")


def test_the_stored_form_names_scrypt_and_its_parameters_not_the_password(stored: str) -> None:
    assert stored.startswith("scrypt$16384$8$1$")
    assert "s3cret" not in stored
    assert len(stored.split("$")) == 6


@pytest.mark.parametrize("value", [
    None,
    "",
    "plaintext",
    "scrypt$16384$8$1$abcd",
    "scrypt$x$8$1$00$00",
    "scrypt$16384$8$1$zz$00",
    "scrypt$1000$8$1$00$00",
    "scrypt$16384$8$1$00$00$extra",
])
def test_a_malformed_stored_value_never_checks(value: str | None) -> None:
    assert check_password(value, "s3cret") is False


@pytest.mark.parametrize("value", [
    "scrypt$-1$8$1$00$00",
    "scrypt$" + str(2**70) + "$8$1$00$00",
    "scrypt$16384$8$1$00$" + "é" * 64,
])
def test_a_malformed_stored_value_with_out_of_range_parts_never_checks(value: str) -> None:
    assert check_password(value, "s3cret") is False


# --- add_user -----------------------------------------------------------------------------------

def test_add_user_stores_the_user_with_sorted_unique_roles(session: Session) -> None:
    user = add_user(session, SETTINGS, "li.wei", ["adjuster", "claims_clerk", "adjuster"], None, NOW)
    assert user.id is not None
    assert [r.role for r in user.roles] == ["adjuster", "claims_clerk"]
    assert user.active is True
    assert user.display_name == "li.wei"
    assert user.password_hash is None


def test_add_user_keeps_a_display_name_and_hashes_the_password(session: Session) -> None:
    user = add_user(session, SETTINGS, "li", [], "pw-123", NOW, display_name="Li Wei")
    assert user.display_name == "Li Wei"
    assert user.password_hash != "pw-123"
    assert check_password(user.password_hash, "pw-123")


def test_add_user_refuses_an_unknown_role(session: Session) -> None:
    with pytest.raises(InvalidInputError, match="unknown role"):
        add_user(session, SETTINGS, "li", ["adjuster", "wizard"], None, NOW)
    assert session.scalar(select(UserModel)) is None


def test_known_roles_come_from_the_settings(session: Session) -> None:
    settings = EngineSettings(known_roles=frozenset({"wizard"}))
    add_user(session, settings, "merlin", ["wizard"], None, NOW)
    with pytest.raises(InvalidInputError, match="adjuster"):
        add_user(session, settings, "li", ["adjuster"], None, NOW)


@pytest.mark.parametrize("name", ["", "li wei", "li/wei", "li@example", "a;drop", "ü ber", "tab\there"])
def test_add_user_refuses_a_bad_user_name(session: Session, name: str) -> None:
    with pytest.raises(InvalidInputError, match="user name"):
        add_user(session, SETTINGS, name, [], None, NOW)


@pytest.mark.parametrize("name", ["li", "li.wei", "li-wei", "li_wei", "Agent007"])
def test_add_user_accepts_letters_digits_dots_dashes_underscores(session: Session, name: str) -> None:
    assert add_user(session, SETTINGS, name, [], None, NOW).username == name


def test_add_user_refuses_a_duplicate_name(session: Session) -> None:
    add_user(session, SETTINGS, "li", ["adjuster"], None, NOW)
    with pytest.raises(ConflictError, match="already exists"):
        add_user(session, SETTINGS, "li", ["claims_clerk"], None, NOW)


# --- actors -------------------------------------------------------------------------------------

def test_actor_for_carries_the_users_roles(uow: UnitOfWork) -> None:
    add_user(uow.session, SETTINGS, "mgr", ["claims_manager", "adjuster"], None, NOW)
    actor = actor_for(uow, "mgr")
    assert actor == Actor("mgr", frozenset({"claims_manager", "adjuster"}))
    assert not actor.is_operator


def test_actor_for_an_unknown_user_is_not_found(uow: UnitOfWork) -> None:
    with pytest.raises(NotFoundError):
        actor_for(uow, "ghost")


def test_a_deactivated_user_is_refused(uow: UnitOfWork) -> None:
    user = add_user(uow.session, SETTINGS, "li", ["adjuster"], None, NOW)
    user.active = False
    uow.session.flush()
    with pytest.raises(ForbiddenError, match="deactivated"):
        actor_for(uow, "li")


def test_require_accepts_the_operator_or_a_holder_of_one_role() -> None:
    require(OPERATOR, {"admin"}, "deploy")
    require(Actor("a", frozenset({"auditor"})), {"admin", "auditor"}, "read history")
    with pytest.raises(ForbiddenError, match="needs one of the roles admin"):
        require(Actor("a", frozenset({"agent"})), {"admin"}, "deploy")


# --- tokens -------------------------------------------------------------------------------------

def test_create_token_stores_only_the_sha256_of_the_token(session: Session) -> None:
    add_user(session, SETTINGS, "li", ["adjuster"], None, NOW)
    token = create_token(session, "li", NOW)
    (row,) = session.scalars(select(ApiTokenModel)).all()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in row.token_hash
    assert token.startswith("ifw_")


def test_each_token_is_different(session: Session) -> None:
    add_user(session, SETTINGS, "li", [], None, NOW)
    assert create_token(session, "li", NOW) != create_token(session, "li", NOW)


def test_create_token_for_an_unknown_user_is_not_found(session: Session) -> None:
    with pytest.raises(NotFoundError):
        create_token(session, "ghost", NOW)


def test_a_token_stands_for_its_users_actor(uow: UnitOfWork) -> None:
    add_user(uow.session, SETTINGS, "li", ["adjuster"], None, NOW)
    token = create_token(uow.session, "li", NOW)
    assert actor_for_token(uow, token) == Actor("li", frozenset({"adjuster"}))


@pytest.mark.parametrize("token", ["", "ifw_unknown", "not-a-token"])
def test_an_unknown_token_is_refused(uow: UnitOfWork, token: str) -> None:
    add_user(uow.session, SETTINGS, "li", [], None, NOW)
    create_token(uow.session, "li", NOW)
    with pytest.raises(ForbiddenError, match="unknown or revoked"):
        actor_for_token(uow, token)


def test_a_revoked_token_is_refused(uow: UnitOfWork) -> None:
    add_user(uow.session, SETTINGS, "li", [], None, NOW)
    token = create_token(uow.session, "li", NOW)
    uow.session.scalars(select(ApiTokenModel)).one().revoked_at = NOW
    uow.session.flush()
    with pytest.raises(ForbiddenError, match="unknown or revoked"):
        actor_for_token(uow, token)


def test_a_token_of_a_deactivated_user_is_refused(uow: UnitOfWork) -> None:
    user = add_user(uow.session, SETTINGS, "li", ["adjuster"], None, NOW)
    token = create_token(uow.session, "li", NOW)
    user.active = False
    uow.session.flush()
    with pytest.raises(ForbiddenError, match="deactivated"):
        actor_for_token(uow, token)
