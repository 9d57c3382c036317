"""Every key an audit entry's changes can hold, every object type and every refused
service reads in Chinese on the audit log: the keys are found in the source (each
``changes=`` dict and each refusal's changes), so a new key without words fails here."""

from __future__ import annotations

import ast
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse

from huzhu.audit import labels, log, objects
from huzhu.audit.models import AuditEntry
from tests.fixtures import PASSWORD

SRC = Path(__file__).resolve().parents[2] / "src" / "huzhu"
CODE = re.compile(r"[a-z_]{2,}")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _changes_keys() -> dict[str, str]:
    """key → where it is written, for every literal key of an audit entry's changes."""
    found: dict[str, str] = {}
    for path in SRC.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            dicts: list[ast.AST] = []
            if isinstance(node, ast.keyword) and node.arg == "changes":
                dicts.append(node.value)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("add", "_audit"):
                dicts += [a for a in node.args if isinstance(a, ast.Dict)]
            for d in dicts:
                for sub in ast.walk(d):
                    if isinstance(sub, ast.Dict):
                        for k in sub.keys:
                            if isinstance(k, ast.Constant) and isinstance(k.value, str):
                                found.setdefault(k.value, f"{path.relative_to(SRC)}:{sub.lineno}")
    return found


def _audited_services() -> set[str]:
    """The services whose refusals are written as {"refused": <function name>}."""
    names = set()
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and any(
                    "refusals_audited" in ast.unparse(d) for d in node.decorator_list):
                names.add(node.name)
    return names


KEYS = _changes_keys()


def test_the_walk_finds_the_keys_the_issue_named():
    for key in ("state", "amount", "run", "feed", "what_if", "content_hash", "matched",
                "bank_reference"):
        assert key in KEYS, key


@pytest.mark.parametrize("key", sorted(KEYS))
def test_every_written_key_reads_in_chinese(key):
    for object_type in ("", *labels.OBJECT_TYPES):
        text = labels.label(key, object_type)
        assert CJK.search(text) and not CODE.search(text), (key, object_type, KEYS[key])
        assert text != labels.OTHER, (key, KEYS[key])
        if CJK.search(key):  # a key some service writes in Chinese reads as written
            assert text == key


@pytest.mark.parametrize("model_name", ["member", "unit", "union", "user"])
def test_every_field_of_an_edited_record_reads_in_chinese(model_name):
    model = labels.model_for(model_name)
    for field in model._meta.concrete_fields:
        text = labels.label(field.name, model_name)
        assert CJK.search(text) and not CODE.search(text), (model_name, field.name, text)


def test_every_refused_service_reads_in_chinese():
    services = _audited_services() - {"wrapper"}
    assert {"export_batch", "build_batch", "register_payment"} <= services
    for name in services:
        assert name in labels.VALUES_BY_KEY["refused"], name
        assert labels.value(name, "", "refused") == labels.VALUES_BY_KEY["refused"][name]


def test_every_models_kind_reads_in_chinese():
    for model in apps.get_app_config("audit").get_models():
        assert CJK.search(objects.kind_of(model._meta.model_name))
    for config in apps.get_app_configs():
        if not config.name.startswith("huzhu."):
            continue
        for model in config.get_models():
            kind = objects.kind_of(model._meta.model_name)
            assert CJK.search(kind) and not CODE.search(kind), model._meta.label


def test_an_unknown_key_never_shows_its_code():
    assert labels.label("some_new_key", "claim") == labels.OTHER


def test_summaries_and_changes_keep_two_places():
    assert log.amounts_in_text("合计 808214.280000 元；应收 69,987.5 元；每人 150.00 元") == \
        "合计 808,214.28 元；应收 69,987.50 元；每人 150.00 元"
    assert log.amounts_in_text("第 12.5 行") == "第 12.5 行"
    assert log.plain_changes({"amount": Decimal("880.000000"), "total": "1196623.97000000",
                              "rows": 3, "note": "1.000"}) == {
        "amount": "880.00", "total": "1196623.97", "rows": 3, "note": "1.000"}


@pytest.mark.django_db
def test_the_page_shows_no_code_for_any_written_key(client, users, make_member):
    member = make_member("a1", name="张三")
    sample = {key: "x" for key in KEYS}
    sample["refused"] = "export_batch"
    sample["format"] = "csv"
    sample["source"] = "upload"
    for object_type in ("", "claim", "payoutbatch", "batchrun", "whatifrun", "feed"):
        entry = log.record(users["admin_city"], AuditEntry.Action.CLAIM_CHANGED, member,
                           summary="样例", changes=sample)
        # The log is append-only: the object is set in SQL, as other apps' entries hold it.
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {AuditEntry._meta.db_table} SET object_type = %s, "
                           "object_id = %s WHERE id = %s",
                           [object_type, "999" if object_type else "", entry.pk])
    assert client.login(username="auditor_city", password=PASSWORD)
    body = client.get(reverse("audit:log")).content.decode()
    shown = re.sub(r'<span class="data-text">[^<]*</span>', "", body)
    cells = re.findall(r'<td class="(?:small|audit-object data-text)">(.*?)</td>', shown, re.S)
    assert cells
    for cell in cells:
        text = re.sub(r"<[^>]+>", "", cell)
        assert not CODE.search(text), text
    assert "导出银行转账文件" in body and "CSV 文件" in body and "网页上传" in body
    assert "给付批次 第 999 号" in body and "免申即享测算 第 999 号" in body
    assert "改革测算 第 999 号" in body


def test_empty_lists_and_file_types_read_in_words():
    assert labels.value([], "payoutbatch", "without_account") == "（无）"
    assert labels.value("application/pdf", "claimmaterial", "content_type") == "PDF 文件"
    assert labels.value(["LP1", "LP2"], "payoutbatch", "without_account") == "LP1 → LP2"
    assert labels.value(["LP1", "LP2", "LP3"], "payoutbatch", "without_account") == \
        "LP1、LP2、LP3"


@pytest.mark.django_db
def test_the_admin_list_names_the_object_in_chinese(client, users, make_member):
    from huzhu.orgs.models import User

    member = make_member("a1", name="张三")
    entry = log.record(users["admin_city"], AuditEntry.Action.MEMBER_UPDATED, member,
                       summary="改名")
    User.objects.create_superuser(username="root", password=PASSWORD, email="")
    assert client.login(username="root", password=PASSWORD)
    body = client.get("/admin/audit/auditentry/").content.decode()
    assert f"会员 第 {entry.object_id} 号" in body and ">member<" not in body
