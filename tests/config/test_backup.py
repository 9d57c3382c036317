"""``huzhu backup`` and ``huzhu restore``: a small city (members, claims, an uploaded
material) backed up, the database emptied and the files removed as on a fresh install,
then restored: the same counts, the material's bytes, and ``huzhu ledger check`` and
``huzhu audit verify`` pass on the copy. On the suite's database: SQLite always, and
PostgreSQL (pg_dump / pg_restore) under HUZHU_TEST_DB=postgresql. A damaged or foreign
file, a database that already holds data, or a newer version's backup is refused and
changes nothing."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from huzhu.audit.models import AuditEntry
from huzhu.claims.materials import store as material_store
from huzhu.claims.models import Claim, ClaimMaterial
from huzhu.cli import main
from huzhu.members.models import Member
from huzhu.orgs.models import Union, User
from tests.claims.conftest import changchun, file_hospital, today  # noqa: F401  (fixtures)
from tests.claims.materials.test_materials import pdf
from tests.coverage.conftest import admin, free_scheme, staff  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)
A = AuditEntry.Action


@pytest.fixture
def var(settings, tmp_path) -> Path:
    """The data directory's file areas under tmp_path, with a key file where none belongs."""
    root = tmp_path / "var"
    settings.UPLOAD_ROOT = root / "uploads"
    settings.MEDIA_ROOT = root / "media"
    settings.HUZHU_OUTBOX_DIR = root / "outbox"
    for folder in ("uploads/imports", "outbox"):
        (root / folder).mkdir(parents=True)
    (root / "uploads" / "imports" / "job-1.csv").write_text("姓名,身份证号\n", encoding="utf-8")
    (root / "outbox" / "sms-2026-05-01.jsonl").write_text('{"text": "您好"}\n', encoding="utf-8")
    (root / "uploads" / "secrets.json").write_text('{"HUZHU_FIELD_KEY": "x"}')
    return root


@pytest.fixture
def city(var, users, staff, file_hospital):  # noqa: F811
    """Two claims, one with a real uploaded PDF."""
    claims = [file_hospital(staff["m1"], materials=False),
              file_hospital(staff["m2"], out_of_pocket="30000.00")]
    material = material_store.save_material(
        users["clerk_a1"], claims[0], "invoice",
        SimpleUploadedFile("发票.pdf", pdf("发票 2026-0001"), content_type="application/pdf"))
    return {"claims": claims, "material": material, "members": staff}


def _counts() -> dict[str, int]:
    return {"unions": Union.objects.count(), "users": User.objects.count(),
            "members": Member.objects.count(), "claims": Claim.objects.count(),
            "materials": ClaimMaterial.objects.count(), "audit": AuditEntry.objects.count()}


def _fresh_install(var: Path) -> None:
    """What ``migrate`` leaves on a new machine: every table empty, no files."""
    call_command("flush", interactive=False, verbosity=0)
    shutil.rmtree(var)


def _backup(tmp_path: Path, capsys) -> Path:
    out = tmp_path / "backup" / "huzhu.tar.gz"
    out.parent.mkdir()
    assert main(["backup", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"备份完成：{out}（")
    return out


def test_a_backup_restored_on_a_fresh_install_is_the_same_city(city, var, tmp_path, capsys):
    material = city["material"]
    original = material_store.path_of(material).read_bytes()
    id_number = Member.objects.get(pk=city["members"]["m1"].pk).id_number
    before = _counts()
    assert before["materials"] == 1 + 5  # the upload, and the second claim's five rows

    out = _backup(tmp_path, capsys)
    assert out.stat().st_mode & 0o777 == 0o600
    made = AuditEntry.objects.order_by("-id").first()
    assert made.action == A.BACKUP_MADE
    assert made.changes["file"] == str(out) and made.changes["files"] == 3
    with tarfile.open(out) as tar:
        names = set(tar.getnames())
        manifest = json.loads(tar.extractfile("manifest.json").read())
    stored = f"files/uploads/{material.stored_path}"
    assert stored in names
    assert {"files/uploads/imports/job-1.csv", "files/outbox/sms-2026-05-01.jsonl"} <= names
    assert not any("secrets" in name for name in names)  # never a key file
    assert manifest["format"] == "huzhu-backup" and manifest["version"] == 1
    assert manifest["rows"]["members_member"] == before["members"]
    assert manifest["rows"]["audit_auditentry"] == before["audit"]  # the snapshot's count
    assert ["audit", "0013_hash_chain"] in manifest["migrations"]
    assert {p["name"] for p in manifest["parts"]} == names - {"manifest.json"}

    _fresh_install(var)
    assert _counts()["members"] == 0
    assert main(["restore", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith(f"已从备份恢复：{out}（备份于 ")
    assert printed[2] == (f"  工会 {before['unions']} 个、工作人员 {before['users']} 名、"
                          f"会员 {before['members']} 名、理赔 2 件、理赔材料 6 份、"
                          f"审计日志 {before['audit']} 条")
    assert printed[3] == (f"  数据库：{len(manifest['rows'])} 张表共 "
                          f"{sum(manifest['rows'].values()):,} 行，与备份清单一致")
    assert printed[4] == "  上传文件：3 个，文件指纹与备份清单一致"

    assert _counts() == {**before, "audit": before["audit"] + 1}
    restored = AuditEntry.objects.order_by("-id").first()
    assert restored.action == A.BACKUP_RESTORED
    assert restored.changes["rows"] == sum(manifest["rows"].values())
    again = ClaimMaterial.objects.get(pk=material.pk)
    path = material_store.path_of(again)
    assert path.read_bytes() == original
    assert path.stat().st_mode & 0o777 == 0o600
    assert (var / "outbox" / "sms-2026-05-01.jsonl").read_text(encoding="utf-8") == \
        '{"text": "您好"}\n'
    assert not (var / "uploads" / "secrets.json").exists()
    assert Member.objects.get(pk=city["members"]["m1"].pk).id_number == id_number

    assert main(["ledger", "check"]) == 0
    assert main(["audit", "verify"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith(
        f"审计日志核验通过：共 {before['audit'] + 1} 条")


def test_a_database_with_data_is_refused_unless_forced(city, var, tmp_path, capsys):
    out = _backup(tmp_path, capsys)
    member = Member.objects.get(pk=city["members"]["m1"].pk)
    Member.objects.filter(pk=member.pk).update(name="改过的名字")
    counts = _counts()

    assert main(["restore", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"数据库中已有数据（工会 {counts['unions']} 个、工作人员 "
                          f"{counts['users']} 名、会员 {counts['members']} 名、理赔 2 件、"
                          f"理赔材料 6 份、审计日志 {counts['audit']} 条）：恢复会覆盖它们。"
                          "请在新安装（huzhu manage migrate 之后的空数据库）上恢复；"
                          "确认要覆盖，请加 --force。未作任何改动")
    assert Member.objects.get(pk=member.pk).name == "改过的名字"
    assert _counts() == counts

    assert main(["restore", "--force", str(out)]) == 0
    assert Member.objects.get(pk=member.pk).name == member.name
    assert AuditEntry.objects.order_by("-id").first().changes["forced"] is True
    assert main(["audit", "verify"]) == 0


def _rewrite(source: Path, target: Path, *, manifest=None, part: str = "",
             data: bytes = b"") -> Path:
    """A copy of the archive with its manifest changed, or one part's bytes replaced."""
    with tarfile.open(source) as old, tarfile.open(target, "w:gz") as new:
        for member in old.getmembers():
            content = old.extractfile(member).read()
            if member.name == "manifest.json" and manifest is not None:
                content = json.dumps(manifest(json.loads(content))).encode()
            elif member.name == part:
                content = data
            member.size = len(content)
            new.addfile(member, io.BytesIO(content))
    return target


def _refused(path: Path, capsys) -> str:
    counts = _counts()
    assert main(["restore", "--force", str(path)]) == 1
    assert _counts() == counts  # nothing changed, not even the audit log
    return capsys.readouterr().err.strip()


def test_a_damaged_or_foreign_file_is_refused_and_changes_nothing(city, var, tmp_path, capsys):
    out = _backup(tmp_path, capsys)
    stored = f"files/uploads/{city['material'].stored_path}"

    damaged = _rewrite(out, tmp_path / "damaged.tar.gz", part=stored, data=pdf("伪造的发票"))
    assert _refused(damaged, capsys) == (
        f"备份文件已损坏：{stored} 与备份清单中的文件指纹不符，未作任何改动")

    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(out.read_bytes()[: out.stat().st_size // 2])
    assert _refused(cut, capsys) == \
        f"{cut} 不是完整的 huzhu 备份文件（无法读取压缩包），未作任何改动"

    other = "postgresql" if _vendor() == "sqlite" else "sqlite"
    foreign = _rewrite(out, tmp_path / "foreign.tar.gz",
                       manifest=lambda m: {**m, "database": {**m["database"], "vendor": other}})
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    assert _refused(foreign, capsys) == (
        f"这是 {names[other]} 数据库的备份，当前数据库是 {names[_vendor()]}："
        "请在同一种数据库上恢复")

    newer = _rewrite(out, tmp_path / "newer.tar.gz", manifest=lambda m: {
        **m, "migrations": [*m["migrations"], ["claims", "0099_future"]]})
    assert _refused(newer, capsys) == (
        "这份备份来自较新的 huzhu 版本：其中有本程序没有的数据库迁移"
        "（claims 0099_future 等 1 个）。请先升级 huzhu 再恢复，未作任何改动")


def _vendor() -> str:
    from django.db import connection

    return connection.vendor


def test_a_backup_is_never_written_among_the_files_it_takes(var, capsys):
    inside = var / "uploads" / "huzhu.tar.gz"
    assert main(["backup", str(inside)]) == 1
    assert capsys.readouterr().err.strip() == (
        f"备份文件不能写在数据目录 {(var / 'uploads').resolve()} 之内：请写到别处（最好是另一块"
        "磁盘或另一台机器）")
    assert not inside.exists()
    assert not AuditEntry.objects.filter(action=A.BACKUP_MADE).exists()
