"""The workflow core: deploying and parsing BPMN/DMN, running cases (execution, the store, the history, timers,
messages, effects, the sandbox), human tasks and forms, and who acts and may see what.

Other layers use the names below (`from engine.workflow import Runtime, InstanceSummary`); the modules are the
implementation. The domain (tasks/) reaches the core only through engine.registry and engine.errors.
"""

from .actors import OPERATOR, Actor, actor_for, actor_for_token, require
from .authorization import can_assign, managed_roles
from .case_notes import change_with_note
from .case_search import CaseFilter, CaseHit, search_cases
from .checkpoints import PUBLIC_NAME, CheckpointStore, CheckpointStoreError, load_signing_key
from .database import make_engine, make_session_factory
from .decisions import describe
from .deployments import DEPLOYERS, file_in
from .execution import current_data, load
from .forms import SECTION_KEYWORD, SECTIONS, UPLOAD_KEYWORD, SubmissionContext, upload_fields
from .inbox import COUNT_CAP, InboxFilter, query_inbox, team_roles
from .incidents import IncidentView
from .instances import InstanceSummary, deliver_message, find_instance, to_plain_safe
from .parsing import ParsedDeployment
from .progress import Progress, quiet
from .roles import lane_role
from .runtime import Runtime
from .settings import DEFAULT_ROLES, EngineSettings
from .task_service import TaskView
from .translations import LANGUAGES, relabel
from .unit_of_work import UnitOfWork
from .workload import Overdue, StepLoad, open_steps, overdue_tasks

__all__ = [
    "COUNT_CAP",
    "DEFAULT_ROLES",
    "DEPLOYERS",
    "LANGUAGES",
    "OPERATOR",
    "PUBLIC_NAME",
    "SECTIONS",
    "SECTION_KEYWORD",
    "UPLOAD_KEYWORD",
    "Actor",
    "CaseFilter",
    "CaseHit",
    "CheckpointStore",
    "CheckpointStoreError",
    "EngineSettings",
    "InboxFilter",
    "IncidentView",
    "InstanceSummary",
    "Overdue",
    "ParsedDeployment",
    "Progress",
    "Runtime",
    "StepLoad",
    "SubmissionContext",
    "TaskView",
    "UnitOfWork",
    "actor_for",
    "actor_for_token",
    "can_assign",
    "change_with_note",
    "current_data",
    "deliver_message",
    "describe",
    "file_in",
    "find_instance",
    "lane_role",
    "load",
    "load_signing_key",
    "make_engine",
    "make_session_factory",
    "managed_roles",
    "open_steps",
    "overdue_tasks",
    "query_inbox",
    "quiet",
    "relabel",
    "require",
    "search_cases",
    "team_roles",
    "to_plain_safe",
    "upload_fields",
]
