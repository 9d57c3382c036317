"""The document downloads: each for those who may see its object (a claim outside the
user's subtree, or a batch of another union's, is a 404; a batch for a role that may not
pay, a 403, as the batch page), each written to the audit log as 下载文件."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.http import content_disposition_header

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.claims.access import get_claim_for_user
from huzhu.claims.documents import pdfs
from huzhu.claims.models import Claim
from huzhu.claims.payouts.access import get_batch_for_user
from huzhu.lib.errors import Refused
from huzhu.lib.http import AuthenticatedHttpRequest
from huzhu.rules.money import yuan


def _pdf(data: bytes, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    # Inline: it opens in the browser, to be printed.
    response["Content-Disposition"] = content_disposition_header(False, name) or "inline"
    response["Cache-Control"] = "no-store"  # a member's details stay off shared disks
    return response


def _claim_document(request: AuthenticatedHttpRequest, claim_id: int, title: str,
                    build: Callable[[Claim], bytes]) -> HttpResponse:
    claim = get_claim_for_user(request.user, claim_id)
    try:
        data = build(claim)
    except Refused as exc:
        messages.error(request, str(exc))
        return redirect("claims:detail", claim_id=claim.pk)
    log.record(request.user, AuditEntry.Action.FILE_DOWNLOADED, claim,
               union_path=claim.member.union.path,
               summary=f"下载{title}（理赔 {claim.number}，{claim.member.name}）",
               changes={"claim": claim.number, "format": "pdf", "文件": title})
    return _pdf(data, f"{title}-{claim.number}.pdf")


@login_required
def claim_application(request: AuthenticatedHttpRequest, claim_id: int) -> HttpResponse:
    return _claim_document(request, claim_id, "理赔申请表", pdfs.application_pdf)


@login_required
def claim_approval(request: AuthenticatedHttpRequest, claim_id: int) -> HttpResponse:
    return _claim_document(request, claim_id, "理赔审批表", pdfs.approval_pdf)


@login_required
def claim_payment_notice(request: AuthenticatedHttpRequest, claim_id: int) -> HttpResponse:
    return _claim_document(request, claim_id, "给付通知书", pdfs.payment_notice_pdf)


@login_required
def batch_approval(request: AuthenticatedHttpRequest, batch_id: int) -> HttpResponse:
    batch = get_batch_for_user(request.user, batch_id)
    data = pdfs.batch_approval_pdf(batch)
    count, total = pdfs.batch_figures(batch)
    log.record(request.user, AuditEntry.Action.FILE_DOWNLOADED, batch,
               summary=f"下载付款审批单（给付批次 {batch.number}，{count} 笔，"
                       f"合计 {yuan(total)} 元）",
               changes={"format": "pdf", "文件": "付款审批单", "count": count,
                        "total": str(total)})
    return _pdf(data, f"付款审批单-{batch.number}.pdf")
