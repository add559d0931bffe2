"""Engine settings: the knobs an operator may turn, with the defaults InsureFlow ships."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_ROLES = (
    "agent", "compliance", "underwriter", "senior_underwriter", "claims_clerk", "surveyor",
    "adjuster", "claims_manager", "claims_director", "siu", "finance", "analyst", "auditor", "admin",
)


@dataclass(frozen=True)
class EngineSettings:
    """What the engine needs to know from configuration."""

    known_roles: frozenset[str] = frozenset(DEFAULT_ROLES)
    # Lanes whose tasks no person performs (automated steps); they need no role.
    system_lanes: frozenset[str] = frozenset({"system"})
    max_file_bytes: int = 2_000_000
    max_files: int = 200
    incident_max_retries: int = 3
    incident_backoff_seconds: float = 30.0
    # External calls (payments): how long one may take — well below the web worker's 60 s — and how long
    # after an intent was committed the worker takes it over from the process that should have made it.
    effect_timeout_seconds: float = 20.0
    effect_grace_seconds: float = 45.0
    # A manager role may hand tasks of the listed candidate roles to a named colleague.
    assign_rights: dict[str, frozenset[str]] = field(default_factory=lambda: {
        "claims_manager": frozenset({"claims_clerk", "surveyor", "adjuster", "claims_manager", "siu", "finance"}),
        "senior_underwriter": frozenset({"underwriter", "senior_underwriter"}),
        "admin": frozenset(DEFAULT_ROLES),
    })
    # Roles with a duty across every case of a process: they see and act on all of them (engine/workflow/access.py).
    duty_roles: dict[str, frozenset[str]] = field(default_factory=lambda: {
        "claims": frozenset({"siu", "claims_manager"}),
        "sales": frozenset({"compliance"}),
    })
    script_max_steps: int = 1_000_000
    script_max_seconds: float = 2.0
    # Per process (each web worker, each timer worker): live workflows of recently changed cases kept to skip
    # deserializing them on the next step (0: none), and parsed deployments.
    workflow_cache_size: int = 256
    spec_cache_size: int = 64
    # PostgreSQL connections per process: the pool kept open, and how many more it may open under load.
    database_pool_size: int = 5
    database_max_overflow: int = 10
