"""A migrated case on the audit page: each step of the slider shows the diagram it ran on — the older version
before the migration, the newer after — and only the deployments the case ran on are served."""

from __future__ import annotations

import json
import re
from pathlib import Path

from engine.audit import replay
from engine.authoring import migration
from engine.workflow.actors import actor_for
from engine.workflow.deployments import deploy, deployed_file
from engine.workflow.models import InstanceModel
from tests.e2e.api_support import demo_task
from tests.e2e.conftest import Site

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"


def _files(old: bytes, new: bytes) -> dict[str, bytes]:
    """bpmn/ as deployed by the demo, with one replacement in claims.bpmn."""
    files = {}
    for path in sorted(p for p in BPMN_DIR.rglob("*") if p.suffix in (".bpmn", ".dmn", ".json")):
        content = path.read_bytes()
        if path.name == "claims.bpmn":
            assert old in content
            content = content.replace(old, new)
        files[path.relative_to(BPMN_DIR).as_posix()] = content
    return files


def test_each_step_of_a_migrated_case_shows_the_diagram_it_ran_on(site: Site) -> None:
    rt = site.wired.runtime
    _task, case = demo_task(site, "assess_amount")
    with rt.uow() as uow:
        analyst, auditor = actor_for(uow, "analyst"), actor_for(uow, "auditor")
        first = uow.session.get(InstanceModel, case).deployment_id
    newer = deploy(rt, _files(b'name="Approve payout"', b'name="Approve the payout"'), analyst,
                   "renamed a task the case has not reached")
    report = migration.migrate(rt, analyst, first, newer.id, process_key="claims", instance_ids=[case])
    assert [i.outcome for i in report.instances] == ["migrated"]

    client = site.signed_in("auditor")
    page = client.get(f"/audit/cases/{case}").get_data(as_text=True)
    slider = json.loads(re.search(r'<script type="application/json" id="step-data">(.*?)</script>', page, re.S)[1])
    urls = [step["diagram"].split("?")[0] for step in slider]  # the language of its labels aside
    older, newest = f"/audit/cases/{case}/diagrams/{first}.xml", f"/audit/cases/{case}/diagrams/{newer.id}.xml"
    switch = urls.index(newest)  # the migration's step: from there on the newer version
    assert switch > 0 and set(urls[:switch]) == {older} and set(urls[switch:]) == {newest}

    before, after = client.get(urls[0]), client.get(urls[-1])
    assert before.status_code == after.status_code == 200 and before.mimetype == "application/xml"
    assert before.data == deployed_file(rt, first, "claims.bpmn") and b'name="Approve payout"' in before.data
    assert b'name="Approve the payout"' in after.data
    assert client.get(f"/audit/cases/{case}/diagrams/{newer.id + 1}.xml").status_code == 404
    assert site.signed_in("adjuster").get(urls[0]).status_code == 403
    assert replay.replay_instance(rt, case, auditor).consistent
