"""What is deployed and authored: deployments, their files and process definitions; drafts and dry-run scenarios."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .columns import Base, UTCDateTime


class DeploymentModel(Base):
    __tablename__ = "deployments"

    id: Mapped[int] = mapped_column(primary_key=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    deployed_by: Mapped[str] = mapped_column(String(80))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    files: Mapped[list[DeploymentFileModel]] = relationship(
        cascade="all, delete-orphan", order_by="DeploymentFileModel.name", lazy="raise"
    )


class DeploymentFileModel(Base):
    __tablename__ = "deployment_files"

    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class ProcessDefinitionModel(Base):
    __tablename__ = "process_definitions"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"), index=True)
    key: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer)
    file_name: Mapped[str] = mapped_column(String(255))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set when a version was made newest again by a rollback (its deployment holds another's content).
    deployed_by: Mapped[str | None] = mapped_column(String(80))
    comment: Mapped[str | None] = mapped_column(Text)


class DraftModel(Base):
    """An analyst's unsaved-to-production work on a process: its file set as text (BPMN, DMN, forms)."""

    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("username", "process_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    process_key: Mapped[str] = mapped_column(String(255))
    base_deployment_id: Mapped[int | None] = mapped_column(ForeignKey("deployments.id"))
    # JSON object: file name → text.
    files: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DryRunScenarioModel(Base):
    """A dry-run scenario an analyst saved with a process, to run again on later drafts."""

    __tablename__ = "dry_run_scenarios"
    __table_args__ = (UniqueConstraint("process_key", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # JSON: initial data, steps, handler outcomes (engine/authoring/dry_run.py).
    scenario: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
