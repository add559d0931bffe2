"""The composition root: configuration, database, handler registry, engine runtime — wired once,
used by the command line and the web app alike."""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from engine.registry import HandlerRegistry
from engine.workflow import (
    PUBLIC_NAME,
    CheckpointStore,
    CheckpointStoreError,
    EngineSettings,
    Runtime,
    SubmissionContext,
    audit_keys,
    load_signing_key,
    make_engine,
    make_session_factory,
    upload_fields,
)
from engine.workflow.models import EventModel
from engine.workflow.runtime import SpecCache, WorkflowCache
from tasks.beneficiaries import form_problems as beneficiary_form_problems
from tasks.common import BUSINESS_TZ
from tasks.cover import cover_problems
from tasks.crypto import PersonalDataCipher
from tasks.documents import MAX_DOCUMENT_BYTES, reference_problems
from tasks.gateway_ledger import GatewayFaults, LedgerGateway
from tasks.services import DomainServices

from .instance_folder import InstanceConfig, InstanceFolderError


@dataclass
class App:
    """Everything wired for one instance folder."""

    config: InstanceConfig
    db: Engine
    runtime: Runtime


def build_registry(extra_modules: list[str]) -> HandlerRegistry:
    """The handler registry: InsureFlow's own handlers plus any configured modules."""
    registry = HandlerRegistry()
    import tasks

    tasks.register_handlers(registry)
    for name in extra_modules:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise InstanceFolderError(f"handler module {name!r} cannot be imported: {exc}") from exc
        module.register(registry)
    return registry


# gunicorn kills a web worker whose request runs longer than this (serving.py): every outbound call made
# within a request must end well before it, or the kill would cut the call and its settling short.
WEB_WORKER_TIMEOUT = 60


def build_settings(overrides: dict[str, object]) -> EngineSettings:
    """Engine settings with the instance's overrides applied."""
    known = {f.name for f in dataclasses.fields(EngineSettings)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise InstanceFolderError(f"unknown [engine] settings: {', '.join(unknown)}")
    settings = dataclasses.replace(EngineSettings(), **overrides)  # type: ignore[arg-type]
    timeout, grace = settings.effect_timeout_seconds, settings.effect_grace_seconds
    if not 0 < timeout <= WEB_WORKER_TIMEOUT / 2:
        limit = WEB_WORKER_TIMEOUT // 2
        raise InstanceFolderError(f"[engine] effect_timeout_seconds must be above 0 and at most {limit} (half "
                                  f"the web worker's {WEB_WORKER_TIMEOUT} s), not {timeout}")
    if grace <= timeout:
        raise InstanceFolderError(f"[engine] effect_grace_seconds ({grace}) must be longer than effect_timeout_seconds "
                                  f"({timeout}): the worker must not take over a call still being made")
    for name, least in (("workflow_cache_size", 0), ("spec_cache_size", 1), ("database_pool_size", 1),
                        ("database_max_overflow", 0)):
        value = getattr(settings, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise InstanceFolderError(f"[engine] {name} must be a whole number of at least {least}, not {value!r}")
    return settings


def build_services(config: InstanceConfig) -> DomainServices:
    """The domain's dependencies: the personal-data cipher from the instance's key, the gateway."""
    try:
        key = config.data_key_file.read_bytes().strip()
    except OSError as exc:
        raise InstanceFolderError(f"cannot read the data key {config.data_key_file}: {exc}") from exc
    limit = config.documents.get("max_file_bytes", MAX_DOCUMENT_BYTES)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit <= 0:
        raise InstanceFolderError(f"{config.path / 'insureflow.toml'}: [documents] max_file_bytes must be a positive "
                                  f"whole number of bytes, not {limit!r}")
    return DomainServices(cipher=PersonalDataCipher(key), gateway=build_gateway(config), max_document_bytes=limit)


def build_gateway(config: InstanceConfig) -> LedgerGateway:
    """The instance's payment gateway from `[gateway]`: the simulated one, its ledger in the instance folder."""
    settings = dict(config.gateway)
    kind = settings.pop("kind", "simulated")
    where = config.path / "insureflow.toml"
    if kind != "simulated":
        raise InstanceFolderError(f"{where}: [gateway] kind {kind!r} is not known (only \"simulated\" is)")
    unknown = sorted(set(settings) - {"faults", "seed", "account_names"})
    if unknown:
        raise InstanceFolderError(f"{where}: unknown [gateway] settings: {', '.join(unknown)}")
    names = settings.get("account_names", {})
    if not isinstance(names, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in names.items()):
        raise InstanceFolderError(f"{where}: [gateway] account_names must be a table of account = holder's name")
    try:
        faults = GatewayFaults.parse(settings)
    except ValueError as exc:
        raise InstanceFolderError(f"{where}: {exc}") from None
    return LedgerGateway(config.gateway_ledger_file, faults, account_names=names)


def check_document_references(context: SubmissionContext, schema: Mapping[str, Any],
                              data: Mapping[str, Any]) -> Mapping[str, str]:
    """The form checker for upload fields: every referenced file was uploaded for this case."""
    fields = upload_fields(schema)
    return reference_problems(context.session, context.instance_id, fields, data) if fields else {}


def check_claim_cover(context: SubmissionContext, schema: Mapping[str, Any],
                      data: Mapping[str, Any]) -> Mapping[str, str]:
    """The form checker for amounts marked `x-within-cover`: at most what is left of the claim's cover."""
    return cover_problems(context.session, context.instance_id, schema, data)


def check_beneficiaries(context: SubmissionContext, schema: Mapping[str, Any],
                        data: Mapping[str, Any]) -> Mapping[str, str]:
    """The form checker for a designation of beneficiaries (`x-beneficiaries`): shares, relations, ID numbers."""
    # Only a birth date in the future depends on the day: the wall clock's date is good enough for that.
    return beneficiary_form_problems(context.session, schema, data, datetime.now(BUSINESS_TZ).date())


# The domain's checks of a task submission beyond its JSON Schema, run by the engine before anything changes.
FIELD_CHECKERS = (check_document_references, check_claim_cover, check_beneficiaries)


def build_checkpoints(config: InstanceConfig) -> CheckpointStore:
    """The signed checkpoints' folder, signing key and shipping, from the `[audit]` settings."""
    settings = config.audit
    try:
        signing = load_signing_key(config.keys_folder)
        minutes = float(settings.get("checkpoint_minutes", 10))
    except (CheckpointStoreError, TypeError, ValueError) as exc:
        raise InstanceFolderError(f"cannot set up the signed checkpoints: {exc}") from exc
    if not minutes > 0:
        raise InstanceFolderError("[audit] checkpoint_minutes must be a positive number")
    ship_folder = settings.get("checkpoint_ship_folder")
    return CheckpointStore(config.checkpoints_folder, config.keys_folder / PUBLIC_NAME, signing, minutes,
                           Path(ship_folder).expanduser() if ship_folder else None,
                           settings.get("checkpoint_ship_command") or None)


def load_audit_keys(config: InstanceConfig, db: Engine) -> audit_keys.AuditKeys:
    """The audit key ring, made at the first start (after an upgrade too), with the switch-over recorded then:
    the highest event id so far (0 on a new installation), after which every event must be keyed."""
    try:
        keys = audit_keys.load(config.keys_folder)
        if keys.legacy_until is None:
            try:
                with db.connect() as conn:
                    last = conn.scalar(select(func.max(EventModel.id))) or 0
            except SQLAlchemyError:  # no schema yet: no events either
                last = 0
            audit_keys.record_switch_over(config.keys_folder, int(last), datetime.now(UTC).isoformat())
            keys = audit_keys.load(config.keys_folder)
    except audit_keys.AuditKeyError as exc:
        raise InstanceFolderError(str(exc)) from exc
    return keys


def build_app(config: InstanceConfig) -> App:
    """Wire the runtime for an instance folder."""
    settings = build_settings(config.engine)
    db = make_engine(config.database_url, pool_size=settings.database_pool_size,
                     max_overflow=settings.database_max_overflow)
    keys = load_audit_keys(config, db)
    services = build_services(config)
    cipher = services.cipher
    runtime = Runtime(
        session_factory=make_session_factory(db),
        registry=build_registry(config.handler_modules),
        settings=settings,
        specs=SpecCache(settings.spec_cache_size),
        workflows=WorkflowCache(settings.workflow_cache_size),
        protect=cipher.protect,
        reveal=cipher.reveal,
        seal=cipher.seal,
        unseal=cipher.unseal,
        services=services,
        field_checkers=FIELD_CHECKERS,
        audit_keys=keys,
        checkpoints=build_checkpoints(config),
    )
    return App(config, db, runtime)
