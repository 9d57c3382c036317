"""The object of an audit entry as a person names it: its Chinese kind and its own number
or name (给付批次 GF20260000003, 理赔 LP20260000011, 会员 张伟), with a link to its page
where it has one, never "payoutbatch #3".

Entries keep the object as (lowercase model name, primary key). The audit app sits
below the apps whose objects it names, so the models are looked up in Django's registry
by name, and a page's objects are read in one query per kind.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from huzhu.audit.labels import OBJECT_TYPES, model_for
from huzhu.audit.models import AuditEntry

_LATIN = re.compile(r"[A-Za-z]")


@dataclass(frozen=True)
class ObjectRef:
    text: str
    url: str = ""


def _number(obj: Any) -> str:
    return str(obj.number)


def _name(obj: Any) -> str:
    return str(obj.name)


def _file(obj: Any) -> str:
    return str(obj.file_name)


def _material(obj: Any) -> str:
    return f"{obj.file_name}（理赔 {obj.claim.number}）"


def _run(obj: Any) -> str:
    # In the project's time zone (Asia/Shanghai), as every page shows times.
    return f"{timezone.localtime(obj.created_at):%Y-%m-%d %H:%M} 提交"


def _what_if(obj: Any) -> str:
    return f"“{obj.name}”"


def _user(obj: Any) -> str:
    return str(obj.display_name or obj.username)


def _token(obj: Any) -> str:
    return f"{obj.prefix}…"


def _reversal(obj: Any) -> str:
    return f"原分录第 {obj.entry_id} 号"


def _payout(obj: Any) -> str:
    return f"理赔 {obj.claim.number}"


def _period(obj: Any) -> str:
    return str(obj)


# object type → (what names it, the related rows it reads, the page's URL name).
DESCRIBE: dict[str, tuple[Callable[[Any], str], tuple[str, ...], str]] = {
    "claim": (_number, (), "claims:detail"),
    "payoutbatch": (_number, (), "payouts:detail"),
    "premiumnotice": (_number, (), ""),
    "member": (_name, (), "members:detail"),
    "unit": (_name, (), "orgs:unit-detail"),
    "union": (_name, (), ""),
    "scheme": (_name, (), ""),
    "period": (_period, ("scheme",), ""),
    "user": (_user, (), ""),
    "feed": (_file, (), "feeds:detail"),
    "importjob": (_file, (), ""),
    "claimmaterial": (_material, ("claim",), ""),
    "batchrun": (_run, (), ""),
    "whatifrun": (_what_if, (), "reports:what-if"),
    "feedtoken": (_token, (), ""),
    "ledgerreversal": (_reversal, (), ""),
    "payout": (_payout, ("claim",), ""),
}


def kind_of(object_type: str) -> str:
    """The Chinese word for an object type ("" for none)."""
    if not object_type:
        return ""
    if object_type in OBJECT_TYPES:
        return OBJECT_TYPES[object_type]
    model = model_for(object_type)
    name = str(model._meta.verbose_name) if model is not None else ""
    # A model without a Chinese verbose name (an internal table) is named as a record.
    return name if name and not _LATIN.search(name) else "记录"


def describe(entries: Iterable[AuditEntry]) -> dict[int, ObjectRef]:
    """Entry id → its object's words and link, for the entries that have an object."""
    wanted: dict[str, set[int]] = defaultdict(set)
    rows = [e for e in entries if e.object_type and e.object_id]
    for e in rows:
        if e.object_id.isdigit():
            wanted[e.object_type].add(int(e.object_id))
    found = {kind: _load(kind, ids) for kind, ids in wanted.items()}
    out = {}
    for e in rows:
        obj = found.get(e.object_type, {}).get(int(e.object_id)) \
            if e.object_id.isdigit() else None
        out[e.id] = _ref(e.object_type, e.object_id, obj)
    return out


def _load(object_type: str, ids: set[int]) -> dict[int, Any]:
    model = model_for(object_type)
    if model is None or object_type not in DESCRIBE:
        return {}
    related = DESCRIBE[object_type][1]
    qs = model._default_manager.all()
    if related:
        qs = qs.select_related(*related)
    found: dict[int, Any] = qs.in_bulk(sorted(ids))
    return found


def _ref(object_type: str, object_id: str, obj: Any) -> ObjectRef:
    kind = kind_of(object_type)
    if obj is None:  # gone, or a kind without a number of its own: its place in the log
        return ObjectRef(f"{kind} 第 {object_id} 号")
    name, _related, url_name = DESCRIBE[object_type]
    url = ""
    if url_name:
        try:
            url = reverse(url_name, args=[obj.pk])
        except NoReverseMatch:
            url = ""
    return ObjectRef(f"{kind} {name(obj)}", url)
