"""The outbox page (短信发件箱): what was sent, what waits, what failed; 重发 for admins."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from huzhu.lib.http import AuthenticatedHttpRequest
from huzhu.lib.paging import keyset_page
from huzhu.lib.params import id_param
from huzhu.notify import kinds, sending
from huzhu.notify.access import get_message_for_user, outbox_reader_required
from huzhu.notify.models import OutboxMessage


def _filters(params) -> dict[str, str]:
    state = params.get("state", "")
    kind = params.get("kind", "")
    return {"state": state if state in OutboxMessage.State.values else "",
            "kind": kind if kinds.is_registered(kind) else ""}


@outbox_reader_required
def outbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    filters = _filters(request.GET)
    qs = OutboxMessage.objects.visible_to(request.user).select_related("member")
    if filters["state"]:
        qs = qs.filter(state=filters["state"])
    if filters["kind"]:
        qs = qs.filter(kind=filters["kind"])
    page = keyset_page(qs, after=id_param(request.GET, "after"),
                       before=id_param(request.GET, "before"), count=True)
    return render(request, "notify/outbox.html", {
        "page": page,
        "params": request.GET,
        "filters": filters,
        "states": OutboxMessage.State.choices,
        "kinds": kinds.registered(),
        "filtered": any(filters.values()),
    })


@require_POST
@outbox_reader_required
def retry(request: AuthenticatedHttpRequest, message_id: int) -> HttpResponse:
    message = get_message_for_user(request.user, message_id, retry=True)
    if sending.retry(request.user, message):
        sending.queue_sending()
        messages.success(request, f"短信 #{message.pk} 已重新排队，将在一分钟内发送。")
    else:
        messages.error(request, f"短信 #{message.pk} 不是“发送失败”状态，无需重发。")
    filters = _filters(request.POST)
    query = urlencode({k: v for k, v in filters.items() if v})
    return redirect(reverse("notify:outbox") + (f"?{query}" if query else ""))
