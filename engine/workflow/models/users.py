"""Users and what hangs on them: roles, API tokens, the administration log, rate-limit hits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .columns import Base, UTCDateTime


class UserModel(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # A permission apart from the roles: may reveal masked personal data (each reveal is a history event).
    may_unmask: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    roles: Mapped[list[UserRoleModel]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="UserRoleModel.role"
    )


class UserRoleModel(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(40), primary_key=True)


class ApiTokenModel(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class UserChangeModel(Base):
    """One change an administrator made to a user (roles, activation, password reset, …); append-only."""

    __tablename__ = "user_changes"
    __table_args__ = (Index("ix_user_changes_username", "username", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(80))
    username: Mapped[str] = mapped_column(String(80))
    # JSON such as {"roles": {"added": [...], "removed": [...]}} — never a password or its hash.
    change: Mapped[str] = mapped_column(Text)


class RateLimitHitModel(Base):
    """One counted event of a rate limit (a failed sign-in, a status look-up), shared by every web worker."""

    __tablename__ = "rate_limit_hits"
    __table_args__ = (Index("ix_rate_limit_hits_key_at", "key", "at"), Index("ix_rate_limit_hits_at", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))  # sha256 of the limit's name and the key
    at: Mapped[datetime] = mapped_column(UTCDateTime())
