"""Customer notices with wording: the letters (and texts) outbox messages stand for, and the params each needs.

A diagram queues a notice with `notify_customer` (template name and params, channel "letter"); whatever
sends the outbox renders it here in the customer's language. A notice names the params it cannot do
without, so that a diagram that leaves one out fails at the step that queues it (an incident naming the
missing params) instead of sending a letter with a hole in it.

The wording of each reason and every period the letter quotes come from the params, which the diagram
takes from its decision tables (claim_denial.dmn, cooling_off.dmn): nothing here is a business rule.
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

_CLAIM_ACKNOWLEDGED_ZH = ("【理赔受理通知】您在保单 {policy_number} 下的理赔申请已受理，案件号 {claim_number}，"
                          "查询码 {access_code}。请在本公司理赔进度查询页面输入案件号和查询码查看办理进度；"
                          "需要补充材料时，也可在该页面告知我们材料已寄出。查询码仅供您本人使用，请妥善保管，"
                          "本公司工作人员不会向您索要；连续输错将暂停查询，届时请致电客服热线。"
                          "如需补充材料，我们会另行通知您所需材料及提交期限。")
_CLAIM_ACKNOWLEDGED_EN = """We have registered your claim under policy {policy_number}: your claim number is \
{claim_number} and your access code is {access_code}. Enter both on our claim status page to follow your claim; \
while we wait for documents from you, you can also tell us there that you have sent them. Keep the code to \
yourself: our staff will never ask you for it. After several wrong codes the page closes for your claim and \
asks you to call our customer hotline. If we need further documents, we will tell you which ones and by when."""

_CLAIM_DOCUMENTS_ZH = ("【补充材料通知】您的理赔申请（案件号 {claim_number}）尚缺以下材料：{documents}。"
                       "请于 {due_date} 前提交至本公司任一服务网点或通过线上渠道上传。"
                       "逾期未提交的，本次理赔申请将视为撤回，您补齐材料后可再次申请。")
_CLAIM_DOCUMENTS_EN = """To assess your claim {claim_number} we still need: {documents}. Please hand them in at any of \
our service counters or upload them by {due_date}. Without them the claim is treated as withdrawn on that \
date; you may claim again once you have them."""

_CLAIM_NOT_MATCHED_ZH = ("【报案结果通知】您报案时提供的保单号 {policy_number} 未能匹配到本公司的有效保单，"
                         "本次报案已结束，未登记理赔案件。"
                         "如保单号有误，请携带保单或投保凭证及身份证件重新报案，或致电客服热线咨询。")
_CLAIM_NOT_MATCHED_EN = """We could not find a policy of ours under the number you gave, {policy_number}, so we have \
closed your report without registering a claim. If the number was wrong, please report the claim again with \
your policy document or receipt and your ID card, or call our customer hotline."""

_CLAIM_PAYMENT_CANCELLED_ZH = """理赔款支付通知

案件号：{claim_number}

尊敬的客户：
您的理赔申请（案件号 {claim_number}）已核准赔付 {amount} 元，
但款项未能支付至您提供的银行账户，本公司已暂停本次付款。
您的赔款权利不受影响。请携带本人身份证件及本人名下的银行卡到本公司任一服务网点，或致电客服热线提供新的收款账户，
本公司核实后将在十日内支付（《中华人民共和国保险法》第二十三条）。"""
_CLAIM_PAYMENT_CANCELLED_EN = """Your claim payment

Claim number: {claim_number}

Dear customer,
We approved {amount} CNY on your claim {claim_number}, but we could not pay it into the bank account you gave us,
so we have stopped this payment.
The amount is still yours. Please bring your ID card and a bank card in your own name to any of our service
counters, or call our customer hotline, to give us an account: once we have checked it we pay within ten days
(Insurance Law of the PRC, article 23)."""
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
_POLICY_ISSUED_ZH = """保险合同送达及犹豫期告知书

保单号：{policy_number}

尊敬的客户：
您投保的 {product_code} 保险合同已于 {start_date} 承保生效。
本公司已将电子保险合同（含保险条款、产品说明书）送达您本人，送达（签收）日期为 {receipt_date}。

犹豫期：自您收到保险合同之日（{receipt_date}）起 {cooling_off_days} 日，至 {cooling_off_end} 止。
犹豫期内您可以书面申请解除合同，本公司扣除不超过合同约定的工本费后退还您已交的全部保险费；
退费仅退回至缴费账户或您本人名下的账户。
犹豫期过后解除合同的，本公司退还保险单的现金价值，您可能因此遭受一定损失。

如有疑问，请联系本公司客服热线；您也可以向国家金融监督管理总局投诉（热线 12378）。"""

_POLICY_ISSUED_EN = """Notice of policy delivery and cooling-off period

Policy number: {policy_number}

Dear customer,
Your {product_code} policy was issued and is in force from {start_date}. We delivered the electronic policy
documents (the contract, its terms and the product description) to you; you received them on {receipt_date}.

Cooling-off period: {cooling_off_days} days from the day you received the policy documents ({receipt_date}),
ending on {cooling_off_end}. Within it you may cancel the policy in writing and we refund every premium you
paid, less at most the fee the contract states; a refund goes only to the account the premium came from or to
an account in your own name. A policy cancelled after the cooling-off period returns only its cash value, and
you may lose money.

If you have questions, call our customer hotline; you may also complain to the National Financial Regulatory
Administration (hotline 12378)."""

_SALE_NOT_CONCLUDED_ZH = """投保申请处理结果通知书

尊敬的客户：
很遗憾，本公司未能接受您对 {product_code} 的投保申请，保险合同未成立。

您已交的保险费 {premium_amount} 元将按原缴费途径退还给您：转账或刷卡缴纳的，退回原缴费账户；
现金缴纳的，请携本人身份证件到本公司柜面办理。如需您提供资料，本公司会另行与您联系。

如有疑问，请联系本公司客服热线；您也可以向国家金融监督管理总局投诉（热线 12378）。"""

_SALE_NOT_CONCLUDED_EN = """Notice about your application

Dear customer,
We regret that we cannot accept your application for {product_code}; no insurance contract has been made.

The premium you paid, {premium_amount} CNY, is returned to you the way you paid it: a transfer or card payment
goes back to the account it came from; a cash payment is returned at our counter on presentation of your ID. If
we need anything from you, we will contact you.

If you have questions, call our customer hotline; you may also complain to the National Financial Regulatory
Administration (hotline 12378)."""

_RECEIPT_REQUESTED_ZH = ("【保单回执】您的 {product_code} 保单 {policy_number} 已于 {start_date} 生效，"
                         "保险合同已送达您。请阅读合同后签署保单回执并交回您的代理人："
                         "{cooling_off_days} 日犹豫期自您签收回执之日起计算。")
_RECEIPT_REQUESTED_EN = ("Your {product_code} policy {policy_number} is in force from {start_date} and its documents "
                         "were sent to you. Please read them, then sign the policy receipt and give it back to your "
                         "agent: the {cooling_off_days}-day cooling-off period counts from the day you sign it.")

_RECEIPT_REMINDER_ZH = ("【保单回执提醒】您的保单 {policy_number} 的回执尚未交回。请签署后交回您的代理人；"
                        "犹豫期自您签收回执之日起计算。")
_RECEIPT_REMINDER_EN = ("We have not yet received the signed receipt for your policy {policy_number}. Please sign it "
                        "and give it back to your agent: your cooling-off period counts from the day you sign it.")

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
    # The access code is issued by `acknowledge_claim` (tasks/claim_access.py) and kept in the outbox encrypted.
    "claim_acknowledged": Notice(required=("claim_number", "policy_number", "access_code"),
                                 text={"zh": _CLAIM_ACKNOWLEDGED_ZH, "en": _CLAIM_ACKNOWLEDGED_EN}),
    "claim_documents_requested": Notice(required=("claim_number", "documents", "due_date"),
                                        text={"zh": _CLAIM_DOCUMENTS_ZH, "en": _CLAIM_DOCUMENTS_EN}),
    "claim_not_matched": Notice(required=("policy_number",),
                                text={"zh": _CLAIM_NOT_MATCHED_ZH, "en": _CLAIM_NOT_MATCHED_EN}),
    "claim_payment_cancelled": Notice(required=("claim_number", "amount"),
                                      text={"zh": _CLAIM_PAYMENT_CANCELLED_ZH, "en": _CLAIM_PAYMENT_CANCELLED_EN}),
    # Sent when the holder's signed receipt is recorded (record_policy_receipt; by issue_policy itself in sales
    # of earlier versions): the receipt date is the day the cooling-off period counts from.
    "policy_issued": Notice(
        required=("policy_number", "product_code", "start_date", "receipt_date", "cooling_off_days",
                  "cooling_off_end"),
        text={"zh": _POLICY_ISSUED_ZH, "en": _POLICY_ISSUED_EN}),
    # A sale the insurer refuses after its review of the premium: never a word about the review (tipping-off).
    "sale_not_concluded": Notice(
        required=("product_code", "premium_amount"),
        text={"zh": _SALE_NOT_CONCLUDED_ZH, "en": _SALE_NOT_CONCLUDED_EN}),
    # Texts about the policy receipt (sales.bpmn): asked for at issue, and reminded while it is not returned.
    "policy_receipt_requested": Notice(required=("policy_number", "product_code", "start_date", "cooling_off_days"),
                                       text={"zh": _RECEIPT_REQUESTED_ZH, "en": _RECEIPT_REQUESTED_EN}),
    "policy_receipt_reminder": Notice(required=("policy_number",),
                                      text={"zh": _RECEIPT_REMINDER_ZH, "en": _RECEIPT_REMINDER_EN}),
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
    # A list (the documents asked for) reads as "a, b, c" (顿号 in Chinese).
    glue = "、" if language == "zh" else ", "
    values = {k: glue.join(map(str, params[k])) if isinstance(params[k], list | tuple) else params[k]
              for k in notice.required}
    return notice.text[language].format_map(values)
