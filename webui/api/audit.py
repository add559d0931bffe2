"""What auditors use: an instance's history (JSON or CSV), deterministic replay, the hash-chain check."""

from __future__ import annotations

import csv
import io
from typing import Any
from xml.sax.saxutils import escape

from flask import Response, render_template
from flask_babel import get_locale
from flask_babel import gettext as _

from engine.audit import (
    ReplayResult,
    case_audit,
    check_checkpoint,
    check_dict,
    make_checkpoint,
    replay,
    report_dict,
    verify_all,
)
from engine.workflow import instances, jsonutil

from ..audit_report import report_data
from ..context import runtime
from ..masking import mask, shows_clear
from .audit_schemas import (
    AuditReportSchema,
    AuditVerifySchema,
    CheckpointCheckSchema,
    CheckpointSchema,
    EventPageSchema,
    HistoryArgsSchema,
    ReplaySchema,
    ReportArgsSchema,
    UnmaskArgsSchema,
    UnmaskSchema,
)
from .common import actor, blueprint, page

bp = blueprint("audit", __name__, "History, replay and the tamper check (auditors).")

CSV_COLUMNS = ("seq", "at", "type", "actor", "task", "payload", "hash")


@bp.get("/instances/<int:instance_id>/history")
@bp.arguments(HistoryArgsSchema, location="query")
@bp.response(200, EventPageSchema)
@bp.doc(responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}})
def history(args: dict[str, Any], instance_id: int) -> Any:
    """The event log of one instance, personal fields masked by role; `?format=csv` gives every event as CSV."""
    caller = actor()
    rt = runtime()
    # History payloads are stored with personal fields encrypted: revealed here, then masked unless the caller
    # holds a task of the case now (engine/workflow/access.py).
    found = instances.instance_history(rt, instance_id, caller)
    clear = shows_clear(caller.roles, instances.access_to(rt, instance_id, caller).clear)
    events = [{**e, "payload": mask(rt.reveal(e["type"], e["payload"]), clear)} for e in found]
    if args["format"] == "csv":
        return _csv(instance_id, events)
    start = (args["page"] - 1) * args["page_size"]
    return page(events[start:start + args["page_size"]], len(events), args)


def _csv(instance_id: int, events: list[dict[str, Any]]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for event in events:
        payload = jsonutil.dumps(event["payload"], sort_keys=True)
        writer.writerow([event["seq"], event["at"], event["type"], event["actor"] or "", event["task"] or "",
                         payload, event["hash"]])
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers.set("Content-Disposition", "attachment", filename=f"instance-{instance_id}-history.csv")
    return response


@bp.post("/instances/<int:instance_id>/replay")
@bp.response(200, ReplaySchema)
def replay_instance(instance_id: int) -> ReplayResult:
    """Re-run the instance from its recorded inputs; consistent, or the first divergent step (auditors, admins)."""
    return replay.replay_instance(runtime(), instance_id, actor())


@bp.get("/audit/verify")
@bp.response(200, AuditVerifySchema)
def verify() -> dict[str, Any]:
    """Recompute every instance's hash chain and every deployment's files; name the first broken event of each
    chain and every altered file (auditors, admins)."""
    report = verify_all(runtime(), actor())
    return {**report_dict(report), "breaks": report.chains.breaks}


@bp.get("/audit/checkpoint")
@bp.response(200, CheckpointSchema)
def checkpoint() -> Any:
    """The whole-database verification report with every chain's head and every deployment's hashes, as a file
    to keep outside the system (auditors, admins)."""
    document = make_checkpoint(runtime(), actor())
    stamp = document["generated_at"][:19].replace(":", "").replace("-", "")
    return document, 200, {"Content-Disposition": f'attachment; filename="insureflow-checkpoint-{stamp}.json"'}


@bp.post("/audit/checkpoint/verify")
@bp.arguments(CheckpointSchema)
@bp.response(200, CheckpointCheckSchema)
def verify_checkpoint(document: dict[str, Any]) -> dict[str, Any]:
    """Check a stored checkpoint: every chain must still extend its recorded head, every deployment must hold
    the same files, and nothing may be broken now (auditors, admins)."""
    return check_dict(check_checkpoint(runtime(), actor(), document))


@bp.get("/instances/<int:instance_id>/report")
@bp.arguments(ReportArgsSchema, location="query")
@bp.response(200, AuditReportSchema)
@bp.doc(responses={200: {"content": {"text/html": {"schema": {"type": "string"}},
                                     "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
def report(args: dict[str, Any], instance_id: int) -> Any:
    """A case's audit report — summary, steps, who/when/what, every event's hash, the chain check and the
    replay, who generated it and when — as JSON, a printable HTML page or PDF; personal data masked by role."""
    data = report_data(runtime(), actor(), instance_id, str(get_locale() or "zh"))
    name = f"case-{instance_id}-audit-report"
    if args["format"] == "html":
        return Response(render_template("audit/report.html", r=data), mimetype="text/html")
    if args["format"] == "pdf":
        response = Response(report_pdf(data), mimetype="application/pdf")
        response.headers.set("Content-Disposition", "attachment", filename=f"{name}.pdf")
        return response
    return data, 200, {"Content-Disposition": f'attachment; filename="{name}.json"'}


@bp.post("/instances/<int:instance_id>/unmask")
@bp.arguments(UnmaskArgsSchema)
@bp.response(200, UnmaskSchema)
def unmask(args: dict[str, Any], instance_id: int) -> case_audit.Unmasked:
    """Reveal the case's personal data (now, or after one step) for a stated reason; needs the unmask
    permission, and every reveal is recorded in the case's history."""
    return case_audit.unmask(runtime(), actor(), instance_id, args["reason"], step=args["step"])


def report_pdf(data: dict[str, Any]) -> bytes:
    """The printable audit report as PDF (reportlab; Chinese through its built-in CID font, no font files)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = "STSong-Light"
    if font not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    styles = getSampleStyleSheet()
    for style in styles.byName.values():
        style.fontName = font
    small = styles["BodyText"].clone("small", fontSize=7.5, leading=9.5, wordWrap="CJK")
    text = styles["BodyText"].clone("text", fontSize=9, leading=12, wordWrap="CJK")

    def para(value: Any, style: Any = small) -> Paragraph:
        return Paragraph(escape(str(value if value is not None else "—")), style)

    case, verified, replayed = data["case"], data["verification"], data["replay"]
    story: list[Any] = [Paragraph(escape(f"{_('Audit report')} · {data['summary']['process']} · "
                                         f"{case['business_key'] or case['id']}"), styles["Title"])]
    verdict = _("intact") if verified["ok"] else _("altered") + ": " + "; ".join(
        [f"#{b['seq']} {b['words']}" for b in verified["breaks"]]
        + [f"{p['file'] or ''} {p['reason']}" for p in verified["deployment_problems"]])
    replay_text = (_("consistent, %(steps)s steps", steps=replayed["steps"]) if replayed["consistent"]
                   else _("differs at event #%(seq)s", seq=replayed["seq"]) + f": {replayed['reason']}")
    facts = [(_("Case number"), f"{case['business_key'] or '—'} (#{case['id']})"),
             (_("Status"), data["summary"]["status"]), (_("Started"), f"{case['started_at']} · {case['started_by']}"),
             (_("Ended"), case["ended_at"]), (_("Deployment"), case["deployment_hash"]),
             (_("Chain head"), f"#{verified['head']['seq']} {verified['head']['hash']}"),
             (_("Verify chain"), verdict), (_("Replay"), replay_text),
             (_("Generated"), f"{data['generated_at']} · {data['generated_by']}")]
    story.append(Table([[para(k, text), para(v, text)] for k, v in facts], colWidths=[38 * mm, 140 * mm]))
    story += [Spacer(1, 6 * mm), Paragraph(escape(_("Timeline")), styles["Heading2"])]
    rows = [[para(h) for h in ("#", _("When"), _("Who"), _("What"), _("Details"), _("Hash"))]]
    for line in data["lines"]:
        details = "; ".join(f"{k}: {v}" for k, v in line["details"])
        rows.append([para(line["seq"]), para(line["at"]), para(line["who"]),
                     para(f"{line['what']} {line['task']}".strip()), para(details), para(line["hash"][:16])])
    table = Table(rows, colWidths=[8 * mm, 24 * mm, 24 * mm, 34 * mm, 62 * mm, 26 * mm], repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke)]))
    story.append(table)
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, title=f"Audit report case {case['id']}", author=data["generated_by"],
                      leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm).build(story)
    return out.getvalue()
