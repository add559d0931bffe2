"""The engine's tables, as SQLAlchemy 2 typed mappings (one declarative base: alembic sees every table)."""

from .cases import (
    NO_DUE_DATE,
    EffectModel,
    EventModel,
    HumanTaskModel,
    IncidentModel,
    InstanceModel,
    MessageModel,
    WaitModel,
)
from .columns import Base, UTCDateTime
from .definitions import DeploymentFileModel, DeploymentModel, DraftModel, DryRunScenarioModel, ProcessDefinitionModel
from .users import ApiTokenModel, RateLimitHitModel, UserChangeModel, UserModel, UserRoleModel

__all__ = [
    "NO_DUE_DATE",
    "ApiTokenModel",
    "Base",
    "DeploymentFileModel",
    "DeploymentModel",
    "DraftModel",
    "DryRunScenarioModel",
    "EffectModel",
    "EventModel",
    "HumanTaskModel",
    "IncidentModel",
    "InstanceModel",
    "MessageModel",
    "ProcessDefinitionModel",
    "RateLimitHitModel",
    "UTCDateTime",
    "UserChangeModel",
    "UserModel",
    "UserRoleModel",
    "WaitModel",
]
