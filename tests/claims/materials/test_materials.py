"""Claim materials: real PDF, JPEG and PNG files accepted and stored privately; anything
else refused by its bytes (whatever its name); the size limit; scope, state and roles;
every viewing audited; the served file's headers; duplicates; the orphan sweep."""

from __future__ import annotations

import os
import re
import stat
import struct
import zlib
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from huzhu.audit.models import AuditEntry
from huzhu.claims import housekeeping
from huzhu.claims.materials import store as material_store
from huzhu.claims.materials import views as material_views
from huzhu.claims.materials.store import (
    MAX_BYTES,
    NOT_A_DOCUMENT,
    MaterialRefused,
    open_material,
    remove_material,
    save_material,
)
from huzhu.claims.models import Claim, ClaimMaterial
from huzhu.claims.workflow import ClaimRefused, apply
from tests.fixtures import PASSWORD

HOSPITAL_MATERIALS = ["invoice", "discharge_summary", "settlement_statement", "id_card",
                      "bank_card"]


# ------------------------------------------------------------------ minimal real files

def pdf(text: str = "huzhu") -> bytes:
    """A one-page PDF with a correct cross-reference table (pdfinfo reads it)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"]
    out = bytearray(b"%PDF-1.4\n%" + text.encode() + b"\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def jpeg() -> bytes:
    """An 8×8 grey baseline JPEG: one block, DC difference 0, every AC coefficient zero,
    with one-code Huffman tables (libjpeg decodes it to grey 128)."""
    quant = _segment(0xDB, b"\x00" + bytes([1] * 64))
    frame = _segment(0xC0, b"\x08" + struct.pack(">HH", 8, 8) + b"\x01" + b"\x01\x11\x00")
    dc = _segment(0xC4, b"\x00" + bytes([1] + [0] * 15) + b"\x00")
    ac = _segment(0xC4, b"\x10" + bytes([1] + [0] * 15) + b"\x00")
    scan = _segment(0xDA, b"\x01" + b"\x01\x00" + b"\x00\x3f\x00") + b"\x3f"
    return b"\xff\xd8" + quant + frame + dc + ac + scan + b"\xff\xd9"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png() -> bytes:
    """A 2×2 grey PNG."""
    header = struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(b"\x00\x80\x80" * 2)) + _chunk(b"IEND", b""))


def upload(content: bytes, name: str = "发票.pdf", content_type: str = "application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


# ------------------------------------------------------------------ fixtures

@pytest.fixture(autouse=True)
def private_uploads(settings, tmp_path):
    settings.UPLOAD_ROOT = tmp_path / "uploads"
    return settings.UPLOAD_ROOT


@pytest.fixture
def claim(users, staff, file_hospital) -> Claim:
    """A draft hospital claim of 赵一 (unit a1), filed by clerk_a1, without materials."""
    return file_hospital(staff["m1"], materials=False)


@pytest.fixture
def as_user(client):
    def login(username: str):
        client.logout()
        assert client.login(username=username, password=PASSWORD)
        return client

    return login


def stored_files() -> list[Path]:
    root = Path(settings.UPLOAD_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def viewed() -> int:
    return AuditEntry.objects.filter(action=AuditEntry.Action.MATERIAL_VIEWED).count()


def approve(users, claim: Claim) -> Claim:
    for kind in HOSPITAL_MATERIALS:
        save_material(users["clerk_a1"], claim, kind, upload(pdf(kind), f"{kind}.pdf"))
    apply(users["clerk_a1"], claim.pk, "submit")
    apply(users["reviewer_da"], claim.pk, "first_pass")
    return apply(users["admin_city"], claim.pk, "approve")


# ------------------------------------------------------------------ content checks

@pytest.mark.parametrize(("content", "name", "content_type", "ext"), [
    (pdf(), "出院小结.pdf", "application/pdf", "pdf"),
    (jpeg(), "发票照片.JPG", "image/jpeg", "jpg"),
    (png(), "身份证.png", "image/png", "png"),
])
def test_real_pdf_jpeg_and_png_are_accepted_and_stored_privately(users, claim, content, name,
                                                                 content_type, ext):
    material = save_material(users["clerk_a1"], claim, "invoice",
                             upload(content, name, "application/octet-stream"))
    material.refresh_from_db()
    assert (material.file_name, material.content_type, material.size) == (
        name, content_type, len(content))
    import hashlib

    assert material.sha256 == hashlib.sha256(content).hexdigest()
    path = material_store.path_of(material)
    assert path.read_bytes() == content and path.suffix == f".{ext}"
    assert path.parent == Path(settings.UPLOAD_ROOT).resolve() / "claims" / str(claim.pk)
    assert material.stored_path == f"claims/{claim.pk}/{path.name}"  # relative to UPLOAD_ROOT
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700
    assert name not in path.name  # a random name, nothing the uploader chose
    entry = AuditEntry.objects.get(action=AuditEntry.Action.MATERIAL_UPLOADED)
    assert entry.actor == users["clerk_a1"] and entry.object_id == str(material.pk)
    assert claim.number in entry.summary and "医疗费发票" in entry.summary
    assert content.decode("latin-1")[:40] not in str(entry.changes) + entry.summary


def test_material_files_live_outside_the_web_root(settings, users, claim, client):
    material = save_material(users["clerk_a1"], claim, "invoice", upload(pdf()))
    path = material_store.path_of(material)
    served_from = [Path(settings.STATIC_ROOT), Path(settings.BASE_DIR)] + [
        Path(d[1] if isinstance(d, tuple) else d) for d in settings.STATICFILES_DIRS]
    for root in served_from:
        assert not path.is_relative_to(root.resolve()), root
    # The shipped settings too: uploads sit beside the collected static files, not in them.
    from huzhu.config import settings as shipped

    assert not Path(shipped.UPLOAD_ROOT).is_relative_to(shipped.STATIC_ROOT)
    assert not Path(shipped.UPLOAD_ROOT).is_relative_to(shipped.MEDIA_ROOT)
    assert client.get(settings.STATIC_URL + material.stored_path).status_code == 404


def test_a_renamed_exe_is_refused_and_nothing_is_written(users, claim):
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64 + \
        b"This program cannot be run in DOS mode.\r\n" + b"%%EOF\n"
    with pytest.raises(MaterialRefused) as refused:
        save_material(users["clerk_a1"], claim, "invoice", upload(exe, "发票.pdf"))
    assert str(refused.value) == NOT_A_DOCUMENT
    assert not ClaimMaterial.objects.exists() and stored_files() == []
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.MATERIAL_UPLOADED).exists()


@pytest.mark.parametrize(("content", "name"), [
    (b"\x89PNG\r\n\x1a\n" + os.urandom(200), "身份证.png"),        # a PNG header, then garbage
    (jpeg()[:-10], "发票.jpg"),                                   # a truncated JPEG
    (pdf()[:-40], "出院小结.pdf"),                                # a PDF cut before %%EOF
    (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "a.png"),
    (b"<html><script>alert(document.cookie)</script></html>", "诊断证明.pdf"),
    (b"PK\x03\x04" + b"\x00" * 100, "发票.pdf"),                  # a zip (or .docx)
    (b"%PDF-x garbage %%EOF", "x.pdf"),                         # no version digit
], ids=["png-garbage", "jpeg-truncated", "pdf-truncated", "svg", "html", "zip", "pdf-noversion"])
def test_files_that_are_not_what_they_claim_are_refused(users, claim, content, name):
    with pytest.raises(MaterialRefused, match="文件内容不是 PDF、JPEG 或 PNG"):
        save_material(users["clerk_a1"], claim, "invoice", upload(content, name))
    assert not ClaimMaterial.objects.exists() and stored_files() == []


def test_an_image_whose_ends_are_right_but_whose_inside_is_garbage_is_refused(users, claim):
    fake = png()[:33] + _chunk(b"IDAT", b"garbage")[:-4] + b"\x00\x00\x00\x00" + \
        _chunk(b"IEND", b"")  # a bad CRC: the structure check alone passes it
    assert material_store.sniff(fake[:16], fake[-1024:]) is material_store.PNG
    with pytest.raises(MaterialRefused, match="图片无法打开"):
        save_material(users["clerk_a1"], claim, "id_card", upload(fake, "身份证.png"))
    scan = jpeg()
    broken = scan[:scan.index(b"\xff\xda")] + b"\xff\xd9"  # no scan at all, then EOI
    with pytest.raises(MaterialRefused, match="图片无法打开"):
        save_material(users["clerk_a1"], claim, "id_card", upload(broken, "身份证.jpg"))
    assert stored_files() == []


def test_an_empty_file_and_an_unknown_kind_are_refused(users, claim):
    with pytest.raises(MaterialRefused, match="文件是空的"):
        save_material(users["clerk_a1"], claim, "invoice", upload(b""))
    with pytest.raises(MaterialRefused, match="请选择材料类型"):
        save_material(users["clerk_a1"], claim, "selfie", upload(pdf()))
    assert stored_files() == []


def test_any_known_kind_is_accepted_not_only_required_ones(users, claim):
    material = save_material(users["clerk_a1"], claim, "medical_record", upload(pdf()))
    assert material.kind == "medical_record"


def test_the_size_limit(users, claim, settings):
    settings.HUZHU_MATERIAL_MAX_BYTES = 1000
    body = pdf()
    padded = body[:-6] + b" " * (1000 - len(body)) + body[-6:]  # %%EOF\n stays at the end
    assert len(padded) == 1000
    with pytest.raises(MaterialRefused, match="文件超过"):
        save_material(users["clerk_a1"], claim, "invoice", upload(padded + b"\n"))
    assert stored_files() == []
    assert save_material(users["clerk_a1"], claim, "invoice", upload(padded)).size == 1000


def test_twenty_megabytes_pass_and_one_byte_more_does_not(users, claim, tmp_path):
    """The real limit, with sparse files: a PDF of exactly 20 MB, and one byte more."""
    def sparse(size: int) -> File:
        path = tmp_path / f"scan-{size}.pdf"
        with path.open("wb") as fh:
            fh.write(b"%PDF-1.4\n")
            fh.truncate(size - 6)
            fh.seek(size - 6)
            fh.write(b"%%EOF\n")
        assert path.stat().st_size == size
        return File(path.open("rb"), name="扫描件.pdf")

    with sparse(MAX_BYTES + 1) as too_big, pytest.raises(MaterialRefused, match="文件超过 20 MB"):
        save_material(users["clerk_a1"], claim, "invoice", too_big)
    assert stored_files() == []
    with sparse(MAX_BYTES) as just_fits:
        material = save_material(users["clerk_a1"], claim, "invoice", just_fits)
    assert material.size == MAX_BYTES
    assert material_store.path_of(material).stat().st_size == MAX_BYTES


def test_the_size_counts_the_bytes_not_the_declared_size(users, claim, settings):
    settings.HUZHU_MATERIAL_MAX_BYTES = 1000
    liar = upload(pdf() + b" " * 1000)
    liar.size = 10
    with pytest.raises(MaterialRefused, match="文件超过"):
        save_material(users["clerk_a1"], claim, "invoice", liar)


def test_the_same_file_twice_is_refused(users, claim, staff, file_hospital):
    save_material(users["clerk_a1"], claim, "invoice", upload(pdf(), "发票.pdf"))
    same = re.escape("同一文件已上传过（医疗费发票“发票.pdf”），不能重复上传")
    with pytest.raises(MaterialRefused, match=same):
        save_material(users["clerk_a1"], claim, "discharge_summary",
                      upload(pdf(), "出院小结.pdf"))
    assert claim.materials.count() == 1 and len(stored_files()) == 1
    other = file_hospital(staff["m2"], materials=False)
    save_material(users["clerk_a1"], other, "invoice", upload(pdf()))  # another claim: fine


def test_the_file_name_keeps_no_folder_or_control_characters(users, claim):
    material = save_material(users["clerk_a1"], claim, "invoice",
                             upload(pdf(), "C:\\fakepath\\发票\x07 2026.pdf"))
    assert material.file_name == "发票 2026.pdf"
    long_name = "长" * 300 + ".pdf"
    assert material_store.clean_name(long_name, "pdf") == "长" * 196 + ".pdf"


# ------------------------------------------------------------------ who and when

def test_a_clerk_of_another_district_cannot_touch_the_materials(users, claim, as_user):
    material = save_material(users["clerk_a1"], claim, "invoice", upload(pdf()))
    with pytest.raises(MaterialRefused, match="管辖范围"):
        save_material(users["clerk_b1"], claim, "id_card", upload(png(), "身份证.png"))
    with pytest.raises(MaterialRefused, match="管辖范围"):
        open_material(users["clerk_b1"], material)
    client = as_user("clerk_b1")
    assert client.get(reverse("claims:material", args=[material.pk])).status_code == 404
    posted = client.post(reverse("claims:material-upload", args=[claim.pk]),
                         {"kind": "id_card", "file": upload(png(), "身份证.png")})
    assert posted.status_code == 404
    deleted = client.post(reverse("claims:material-delete", args=[material.pk]))
    assert deleted.status_code == 404
    assert claim.materials.count() == 1 and viewed() == 0


def test_upload_after_approval_is_refused(users, claim):
    approved = approve(users, claim)
    assert approved.state == "approved"
    with pytest.raises(MaterialRefused, match="理赔当前为“已审批待给付”，不能再上传材料"):
        save_material(users["reviewer_da"], approved, "medical_record", upload(png()))
    assert approved.materials.count() == len(HOSPITAL_MATERIALS)


def test_materials_may_still_come_during_review_but_not_be_removed(users, claim):
    for kind in HOSPITAL_MATERIALS:
        save_material(users["clerk_a1"], claim, kind, upload(pdf(kind)))
    submitted = apply(users["clerk_a1"], claim.pk, "submit")
    extra = save_material(users["reviewer_da"], submitted, "medical_record", upload(png()))
    with pytest.raises(MaterialRefused, match="不能删除材料"):
        remove_material(users["clerk_a1"], extra)


def test_read_only_and_finance_roles_may_view_but_not_upload(users, claim):
    material = save_material(users["clerk_a1"], claim, "invoice", upload(pdf()))
    for username in ("auditor_city", "finance_city"):
        with pytest.raises(MaterialRefused, match="角色不能上传"):
            save_material(users[username], claim, "id_card", upload(png()))
        with open_material(users[username], material) as handle:
            assert handle.read() == pdf()
    assert viewed() == 2


def test_the_submit_step_passes_once_the_required_materials_are_uploaded(users, claim):
    with pytest.raises(ClaimRefused, match="缺少申请材料"):
        apply(users["clerk_a1"], claim.pk, "submit")
    for kind in HOSPITAL_MATERIALS[:-1]:
        save_material(users["clerk_a1"], claim, kind, upload(pdf(kind), f"{kind}.pdf"))
    with pytest.raises(ClaimRefused, match="缺少申请材料：银行卡"):
        apply(users["clerk_a1"], claim.pk, "submit")
    save_material(users["clerk_a1"], claim, "bank_card", upload(jpeg(), "银行卡.jpg"))
    assert apply(users["clerk_a1"], claim.pk, "submit").state == "submitted"


def test_removing_a_material_deletes_its_file_after_the_commit(users, claim,
                                                               django_capture_on_commit_callbacks):
    material = save_material(users["clerk_a1"], claim, "invoice", upload(pdf()))
    path = material_store.path_of(material)
    with pytest.raises(MaterialRefused, match="角色不能删除"):
        remove_material(users["auditor_city"], material)
    with django_capture_on_commit_callbacks(execute=True):
        remove_material(users["clerk_a1"], material)
    assert not claim.materials.exists() and not path.exists()
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.CLAIM_CHANGED).latest("id")
    assert "删除材料：医疗费发票“发票.pdf”" in entry.summary


# ------------------------------------------------------------------ viewing

def test_every_view_is_audited(users, claim, as_user):
    material = save_material(users["clerk_a1"], claim, "invoice", upload(pdf()))
    client = as_user("reviewer_da")
    url = reverse("claims:material", args=[material.pk])
    for expected in (1, 2, 3):
        response = client.get(url)
        assert response.status_code == 200 and b"".join(response.streaming_content) == pdf()
        assert viewed() == expected
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.MATERIAL_VIEWED).first()
    assert entry.actor == users["reviewer_da"] and entry.object_id == str(material.pk)
    assert entry.union_path == claim.member.union.path and claim.number in entry.summary


def test_the_served_file_cannot_script_the_app_and_is_not_cached(users, claim, as_user):
    material = save_material(users["clerk_a1"], claim, "id_card", upload(png(), "身份证.png"))
    response = as_user("clerk_a1").get(reverse("claims:material", args=[material.pk]))
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Disposition"].startswith("inline")
    assert "filename*=utf-8''%E8%BA%AB%E4%BB%BD%E8%AF%81.png" in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == png()


def test_a_row_whose_path_leads_elsewhere_is_not_served(users, claim, as_user):
    elsewhere = ["/nonexistent", "../../../etc/passwd", f"claims/{claim.pk}/gone.pdf"]
    made = [ClaimMaterial.objects.create(claim=claim, kind="invoice", file_name="x.pdf",
                                         stored_path=stored, content_type="application/pdf",
                                         size=1, sha256=str(i) * 64, uploaded_by=users["clerk_a1"])
            for i, stored in enumerate(elsewhere)]
    client = as_user("admin_city")
    for material in made:
        assert client.get(reverse("claims:material", args=[material.pk])).status_code == 404
    assert viewed() == 0


# ------------------------------------------------------------------ the panel and its forms

def test_upload_with_htmx_answers_the_panel(users, claim, as_user):
    client = as_user("clerk_a1")
    response = client.post(reverse("claims:material-upload", args=[claim.pk]),
                           {"kind": "invoice", "file": upload(pdf(), "发票.pdf")},
                           HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert 'id="claim-materials"' in body and "已上传医疗费发票“发票.pdf”" in body
    assert response["HX-Trigger"] == material_views.CHANGED_EVENT
    refused = client.post(reverse("claims:material-upload", args=[claim.pk]),
                          {"kind": "invoice", "file": upload(b"MZ\x90\x00", "病历.pdf")},
                          HTTP_HX_REQUEST="true")
    assert NOT_A_DOCUMENT in refused.content.decode() and "HX-Trigger" not in refused
    assert claim.materials.count() == 1


def test_upload_without_htmx_goes_back_to_the_claim(users, claim, as_user):
    client = as_user("clerk_a1")
    referer = f"http://testserver/claims/{claim.pk}/"
    response = client.post(reverse("claims:material-upload", args=[claim.pk]),
                           {"kind": "invoice", "file": upload(pdf())}, HTTP_REFERER=referer)
    try:
        expected = reverse("claims:detail", kwargs={"claim_id": claim.pk})
    except NoReverseMatch:  # before the claim page is merged: back where the form was
        expected = referer
    assert response.status_code == 302 and response["Location"] == expected
    assert claim.materials.count() == 1
    missing_file = client.post(reverse("claims:material-upload", args=[claim.pk]),
                               {"kind": "invoice"}, HTTP_REFERER=referer, follow=False)
    assert missing_file.status_code == 302
    # Both messages wait for the claim page, which this test never opens.
    assert [str(m) for m in missing_file.wsgi_request._messages] == [
        "已上传医疗费发票“发票.pdf”", "请选择要上传的文件"]


def test_delete_through_the_page(users, claim, as_user, django_capture_on_commit_callbacks):
    material = save_material(users["clerk_a1"], claim, "invoice", upload(pdf()))
    client = as_user("clerk_a1")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("claims:material-delete", args=[material.pk]),
                               HTTP_HX_REQUEST="true")
    assert "已删除医疗费发票“发票.pdf”" in response.content.decode()
    assert not claim.materials.exists() and stored_files() == []
    assert client.get(reverse("claims:material-delete", args=[material.pk])).status_code == 405


def test_the_panel_shows_what_is_there_and_what_is_missing(users, claim, rf):
    save_material(users["clerk_a1"], claim, "invoice", upload(pdf(), "发票.pdf"))
    context = material_views.panel_context(users["clerk_a1"], claim)
    assert context["required"] == HOSPITAL_MATERIALS
    assert context["missing"] == HOSPITAL_MATERIALS[1:]
    assert context["may_upload"] and context["may_remove"]
    html = render_to_string(material_views.PANEL, context)
    assert 'id="required-invoice"><span class="text-success"' in html
    assert 'id="required-discharge_summary"><span class="text-danger"' in html
    assert '<option value="discharge_summary" selected>' in html  # the first missing one
    assert 'accept=".pdf,.jpg,.jpeg,.png"' in html and 'hx-encoding="multipart/form-data"' in html
    assert 'target="_blank"' in html and "删除" in html and "20 MB" in html
    read_only = render_to_string(material_views.PANEL,
                                 material_views.panel_context(users["auditor_city"], claim))
    assert 'id="material-upload"' not in read_only and "查看" in read_only
    assert 'id="delete-material-' not in read_only


# ------------------------------------------------------------------ housekeeping

def test_housekeeping_deletes_an_orphan_file(users, claim, staff, file_hospital):
    kept = save_material(users["clerk_a1"], claim, "invoice", upload(pdf("kept")))
    gone = save_material(users["clerk_a1"], claim, "id_card", upload(png()))
    other = file_hospital(staff["m2"], materials=False)
    deleted_claim = save_material(users["clerk_a1"], other, "invoice", upload(pdf("other")))
    orphans = [material_store.path_of(gone), material_store.path_of(deleted_claim)]
    ClaimMaterial.objects.filter(pk__in=[gone.pk, deleted_claim.pk]).delete()
    fresh = material_store.path_of(kept).with_name(".upload-in-progress.pdf.part")
    fresh.write_bytes(b"%PDF-")
    now = timezone.now().timestamp()  # the tests' clock (tests/claims/conftest.py)
    os.utime(fresh, (now, now))
    hour_ago = now - 3601
    for path in [*orphans, material_store.path_of(kept)]:
        os.utime(path, (hour_ago, hour_ago))

    assert housekeeping.sweep()["删除的无主理赔材料文件"] == 2
    assert not any(p.exists() for p in orphans)
    assert material_store.path_of(kept).exists()  # its row is there
    assert fresh.exists()  # younger than an hour: perhaps an upload under way
    assert housekeeping.sweep()["删除的无主理赔材料文件"] == 0

    from huzhu.web.management.commands.housekeeping import sweepers

    assert ("claims", housekeeping.sweep) in sweepers()


def test_housekeeping_without_a_materials_folder(private_uploads, db):
    assert housekeeping.sweep()["删除的无主理赔材料文件"] == 0
