"""The audit log page reads in Chinese: labels by object type, old → new values, 是/否."""

from __future__ import annotations

import csv
import datetime as dt

from django.urls import reverse

from huzhu.imports.service import import_file
from huzhu.members.idcard import make_id_number
from huzhu.orgs.uscc import make_uscc
from tests.fixtures import PASSWORD

ID = make_id_number("220102", dt.date(1985, 6, 1), 31)
V = '<span class="data-text">'  # a value as typed or stored, after its Chinese label


def _page(client) -> str:
    assert client.login(username="admin_city", password=PASSWORD)
    response = client.get(reverse("audit:log"))
    assert response.status_code == 200
    return response.content.decode()


def _write(path, rows):
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


def test_import_entries_read_in_chinese_with_old_and_new_values(client, users, units,
                                                               tmp_path):
    header = ["姓名", "身份证号", "手机号", "单位统一社会信用代码", "状态"]
    first = _write(tmp_path / "a.csv", [header, ["张伟", ID, "13800138000",
                                                 units["a1"].uscc, "在职"]])
    import_file("members", first, user=users["admin_city"])
    second = _write(tmp_path / "b.csv", [header, ["张伟", ID, "13900139000",
                                                  units["a2"].uscc, "退休"]])
    import_file("members", second, user=users["admin_city"])
    body = _page(client)
    assert f"手机号</span>：{V}13800138000 → 13900139000</span>" in body
    assert f"单位</span>：{V}{units['a1'].name} → {units['a2'].name}</span>" in body
    assert f"状态</span>：{V}在职 → 退休</span>" in body
    assert f"只导入无错误的行</span>：{V}否</span>" in body and f"行数</span>：{V}1</span>" in body
    for raw in ("valid_only", "unit_id", ">file<", "True", "False", "fields"):
        assert raw not in body, raw


def test_a_new_units_name_is_labelled_as_a_unit_name(client, users, tree):
    assert client.login(username="admin_city", password=PASSWORD)
    client.post(reverse("orgs:unit-create"), {
        "name": "甲区新建材料有限公司", "uscc": make_uscc("91220101MA0000099"),
        "union": tree["a1"].id})
    body = _page(client)
    assert f"单位名称</span>：{V}（空） → 甲区新建材料有限公司</span>" in body
    assert "姓名</span>：" not in body
