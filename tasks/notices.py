"""Written notices: the letters some outbox messages stand for, and the parameters each one needs.

A diagram queues a notice with `notify_customer` (template name and params, channel "letter"); whatever
sends the outbox renders it here in the customer's language. A notice names the params it cannot do
without, so that a diagram that leaves one out fails at the step that queues it (an incident naming the
missing params) instead of sending a letter with a hole in it.

The wording of each reason and every period the letter quotes come from the params, which the diagram
takes from its decision tables (claim_denial.dmn): nothing here is a business rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

LANGUAGES = ("zh", "en")


@dataclass(frozen=True)
class Notice:
    """A letter: the params it needs and its text per language (`str.format` fields over the params)."""

    required: tuple[str, ...]
    text: Mapping[str, str]


_CLAIM_DENIED_ZH = """拒赔通知书

案件号：{claim_number}

尊敬的客户：
您的理赔申请（案件号 {claim_number}）经本公司审核，决定不予赔付，特此书面通知（《中华人民共和国保险法》第二十四条）。

拒赔原因：{denial_basis_zh}
具体说明：{denial_reason}

如何申请复核：如您对本决定有异议，可自收到本通知书之日起{appeal_days}日内，携本通知书及补充材料向本公司任一服务网点或通过客服热线申请复核，本公司将指派未参与本案审核的理赔人员重新审核，并书面答复。
您也可以向国家金融监督管理总局投诉（热线 12378），或依法申请仲裁、向人民法院提起诉讼。"""

_CLAIM_DENIED_EN = """Notice of claim denial

Claim number: {claim_number}

Dear customer,
We have assessed your claim {claim_number} and decided not to pay it. We are telling you in writing, with our
reason, as the Insurance Law of the PRC (article 24) requires.

Reason: {denial_basis}
In detail: {denial_reason}

How to appeal: if you disagree, you may ask us to review the decision within {appeal_days} days of receiving this
notice, at any of our service counters or through our customer hotline, with this notice and any further
documents. A claims handler who did not decide your claim reviews it and answers you in writing.
You may also complain to the National Financial Regulatory Administration (hotline 12378), or take the dispute
to arbitration or to a people's court."""

_EXAM_SCHEDULED_ZH = """体检预约通知

尊敬的客户：
您投保的 {product_code} 需要进行体检。本公司已为您预约：
时间：{local_time}（北京时间）
地点/体检机构：{examiner_name}
请携带本人有效身份证件按时前往，体检前请空腹。如需改期，请联系您的代理人或客服热线。"""

_EXAM_SCHEDULED_EN = """Medical exam appointment

Dear customer,
Your application for {product_code} needs a medical exam. We have booked it for you:
Time: {local_time} (Beijing time)
Place / examiner: {examiner_name}
Please bring your ID card and come without having eaten. To change the time, call your agent or our hotline."""

_POSTPONED_ZH = """延期承保通知书

尊敬的客户：
您投保 {product_code} 的申请经本公司核保，决定延期承保。这不是拒保：
您可在{postpone_months}个月后重新申请，届时本公司将重新核保。
本次申请不收取保费；如已缴纳，将全额退还。如有疑问，请联系您的代理人或客服热线。"""

_POSTPONED_EN = """Notice of postponement

Dear customer,
We have underwritten your application for {product_code} and decided to postpone it. This is not a refusal: you may
apply again after {postpone_months} month(s), and we will underwrite it afresh.
No premium is taken for this application; anything paid is refunded in full. For questions, call your agent or our
hotline."""

_NOT_PROCEEDING_ZH = """尊敬的客户：
您投保 {product_code} 的申请目前无法继续办理，本次申请不收取保费。如有疑问，请联系客服热线。"""

_NOT_PROCEEDING_EN = """Dear customer,
Your application for {product_code} cannot proceed at present; no premium is taken for it. For questions, call our
hotline."""

NOTICES: dict[str, Notice] = {
    # Underwriting (underwriting.bpmn, sales.bpmn): the exam appointment, a postponement (not a decline), and an
    # application that does not proceed after the compliance review — which never says why (tipping-off).
    "medical_exam_scheduled": Notice(required=("product_code", "local_time", "examiner_name"),
                                     text={"zh": _EXAM_SCHEDULED_ZH, "en": _EXAM_SCHEDULED_EN}),
    "application_postponed": Notice(required=("product_code", "postpone_months"),
                                    text={"zh": _POSTPONED_ZH, "en": _POSTPONED_EN}),
    "application_not_proceeding": Notice(required=("product_code",),
                                         text={"zh": _NOT_PROCEEDING_ZH, "en": _NOT_PROCEEDING_EN}),
    "claim_denied": Notice(
        required=("claim_number", "denial_code", "denial_basis", "denial_basis_zh", "denial_reason", "appeal_days"),
        text={"zh": _CLAIM_DENIED_ZH, "en": _CLAIM_DENIED_EN}),
}


def missing_params(template: str, params: Mapping[str, Any]) -> list[str]:
    """The params a written notice needs and does not have (none for a template that is not a notice)."""
    notice = NOTICES.get(template)
    if notice is None:
        return []
    return [name for name in notice.required if params.get(name) in (None, "")]


def render_notice(template: str, params: Mapping[str, Any], language: str = "zh") -> str:
    """The letter `template` with `params` filled in, in `language` (zh or en)."""
    notice = NOTICES.get(template)
    if notice is None:
        raise LookupError(f"{template!r} is not a written notice (known: {', '.join(sorted(NOTICES))})")
    if language not in LANGUAGES:
        raise ValueError(f"notices are written in {' or '.join(LANGUAGES)}, not {language!r}")
    missing = missing_params(template, params)
    if missing:
        raise ValueError(f"the {template} notice needs {', '.join(missing)}")
    return notice.text[language].format_map({k: params[k] for k in notice.required})
