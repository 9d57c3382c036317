"""Claim materials on the claim page: upload (htmx or a plain form), open, delete.

A claim or material outside the user's subtree is a 404. Files are served inline under a
sandboxing Content-Security-Policy, so a crafted PDF or image cannot run script in the
app's origin, and never cached.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from huzhu.claims.access import get_claim_for_user, get_material_for_user
from huzhu.claims.materials import required as materials
from huzhu.claims.materials import store as material_store
from huzhu.claims.materials.store import MaterialRefused
from huzhu.claims.models import Claim
from huzhu.lib.http import AuthenticatedHttpRequest
from huzhu.orgs.models import User
from huzhu.rules.schema import MATERIALS

PANEL = "claims/_materials.html"
CHANGED_EVENT = "claim-materials-changed"  # htmx event: other parts of the page may refresh
SANDBOX = "sandbox; default-src 'none'"


def panel_context(user: User, claim: Claim) -> dict:
    """Everything ``claims/_materials.html`` shows, for ``claim`` as ``user`` sees it."""
    uploaded = list(claim.materials.select_related("uploaded_by"))
    missing = materials.missing(claim)
    # What a return asked for is listed with the policy's own materials, until answered.
    required = [*materials.required(claim),
                *(m for m in missing if m not in materials.required(claim))]
    return {
        "claim": claim,
        "materials": uploaded,
        "required": required,
        "missing": missing,
        "may_upload": material_store.why_not_upload(user, claim) is None,
        "may_remove": material_store.why_not_remove(user, claim) is None,
        "labels": MATERIALS,
        "max_size": material_store.size_label(material_store.max_bytes()),
        "accept": material_store.ACCEPT,
    }


@require_POST
@login_required
def material_upload(request: AuthenticatedHttpRequest, claim_id: int) -> HttpResponse:
    claim = get_claim_for_user(request.user, claim_id)
    uploaded = request.FILES.get("file")
    error = notice = ""
    if uploaded is None:
        error = "请选择要上传的文件"
    else:
        try:
            material = material_store.save_material(request.user, claim,
                                                    request.POST.get("kind", ""), uploaded)
            notice = f"已上传{MATERIALS[material.kind]}“{material.file_name}”"
        except MaterialRefused as exc:
            error = str(exc)
    return _answer(request, claim, error=error, notice=notice)


@require_POST
@login_required
def material_delete(request: AuthenticatedHttpRequest, material_id: int) -> HttpResponse:
    material = get_material_for_user(request.user, material_id)
    claim = material.claim
    error = notice = ""
    try:
        material_store.remove_material(request.user, material)
        notice = f"已删除{MATERIALS.get(material.kind, material.kind)}“{material.file_name}”"
    except MaterialRefused as exc:
        error = str(exc)
    return _answer(request, claim, error=error, notice=notice)


@require_GET
@login_required
def material_file(request: AuthenticatedHttpRequest, material_id: int) -> HttpResponse:
    material = get_material_for_user(request.user, material_id)
    try:
        handle = material_store.open_material(request.user, material)
    except MaterialRefused:
        raise Http404("材料文件不存在") from None
    served = material.content_type in material_store.SERVED_TYPES
    response = FileResponse(
        handle, filename=material.file_name, as_attachment=not served,
        content_type=material.content_type if served else "application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SANDBOX
    response["Cache-Control"] = "private, no-store"
    return response


def _answer(request: AuthenticatedHttpRequest, claim: Claim, *, error: str,
            notice: str) -> HttpResponse:
    """htmx gets the panel again (with the outcome in it); a plain form goes back."""
    if request.htmx or not (back := _back_url(request, claim)):
        response = render(request, PANEL, {**panel_context(request.user, claim),
                                           "error": error, "notice": notice})
        if notice:
            response["HX-Trigger"] = CHANGED_EVENT
        return response
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect(back)


def _back_url(request: AuthenticatedHttpRequest, claim: Claim) -> str | None:
    try:
        return reverse("claims:detail", kwargs={"claim_id": claim.pk})
    except NoReverseMatch:  # the claim page is not in this build: back where the form was
        referer = request.headers.get("Referer", "")
        safe = url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure())
        return referer if referer and safe else None
