"""Claim materials (申请材料): what a clerk uploads for a claim (发票, 出院小结 …).

A file is accepted only when its bytes are a PDF, JPEG or PNG (the name and the browser's
content type are never trusted: a renamed .exe is refused), it is at most
``HUZHU_MATERIAL_MAX_BYTES`` (20 MB), and the same file is not already on the claim.
Accepted files live outside the web root, under ``UPLOAD_ROOT/claims/<claim id>/`` with a
random name (folders 0700, files 0600, written atomically); ``stored_path`` is relative to
``UPLOAD_ROOT`` so the data folder can move. Only those who may see the claim open them,
and every opening is written to the audit log. A refusal raises :class:`MaterialRefused`
with a Chinese message and leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.core.files import File
from django.db import transaction
from PIL import Image

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.claims import workflow
from huzhu.claims.access import in_scope
from huzhu.claims.models import Claim, ClaimMaterial
from huzhu.lib.errors import Refused
from huzhu.orgs.models import User
from huzhu.rules.schema import MATERIALS

S = Claim.State
MAX_BYTES = 20 * 1024 * 1024  # HUZHU_MATERIAL_MAX_BYTES
# Materials may still arrive while reviewers look at the claim; once approved it is decided.
UPLOAD_STATES = frozenset({S.DRAFT, S.PROACTIVE, S.RETURNED, S.SUBMITTED, S.SECOND_REVIEW})
# A file a reviewer may already have relied on stays: removal only before submission.
REMOVE_STATES = frozenset({S.DRAFT, S.PROACTIVE, S.RETURNED})
ACCEPT = ".pdf,.jpg,.jpeg,.png"
FOLDER = "claims"
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
TAIL_BYTES = 1024  # where a PDF's %%EOF must be found
MAX_PIXELS = 100_000_000  # a decompression bomb is refused before Pillow allocates it
MAX_NAME = 200

NOT_A_DOCUMENT = "文件内容不是 PDF、JPEG 或 PNG（可能是改了扩展名的其他文件）"
OUT_OF_SCOPE = "该理赔不在您的管辖范围内"


class MaterialRefused(Refused):
    """An upload, removal or opening that may not happen; the message is for the user."""


class MaterialMissing(MaterialRefused):
    """The row exists but its file does not (or lies outside the materials folder)."""


@dataclass(frozen=True)
class FileType:
    content_type: str
    ext: str
    label: str


PDF = FileType("application/pdf", "pdf", "PDF")
JPEG = FileType("image/jpeg", "jpg", "JPEG")
PNG = FileType("image/png", "png", "PNG")
SERVED_TYPES = {t.content_type: t for t in (PDF, JPEG, PNG)}

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # an empty chunk and its fixed CRC


# ------------------------------------------------------------------ settings and places

def max_bytes() -> int:
    return int(getattr(settings, "HUZHU_MATERIAL_MAX_BYTES", MAX_BYTES))


def materials_root() -> Path:
    """``UPLOAD_ROOT/claims``, created owner-only."""
    return _private_dir(Path(settings.UPLOAD_ROOT) / FOLDER)


def path_of(material: ClaimMaterial) -> Path | None:
    """The file of ``material``, or None when its path leads outside the materials folder
    (a row not made here must not open an arbitrary file)."""
    if not material.stored_path:
        return None
    upload_root = Path(settings.UPLOAD_ROOT).resolve()
    path = (upload_root / material.stored_path).resolve()
    return path if path.is_relative_to(upload_root / FOLDER) else None


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    if path.stat().st_mode & 0o777 != PRIVATE_DIR:  # made earlier, or under another umask
        path.chmod(PRIVATE_DIR)
    return path


# ------------------------------------------------------------------ who may do what

def _files_claims(user: User) -> bool:
    return user.has_perm("claims.file")


def why_not_upload(user: User, claim: Claim) -> str | None:
    """Why ``user`` may not add materials to ``claim`` now (None: they may)."""
    if not in_scope(user, claim):
        return OUT_OF_SCOPE
    if not _files_claims(user):
        return "您的角色不能上传理赔材料"
    if claim.state not in UPLOAD_STATES:
        return f"理赔当前为“{claim.get_state_display()}”，不能再上传材料"
    return None


def why_not_remove(user: User, claim: Claim) -> str | None:
    """Why ``user`` may not delete materials of ``claim`` now (None: they may)."""
    if not in_scope(user, claim):
        return OUT_OF_SCOPE
    if not _files_claims(user):
        return "您的角色不能删除理赔材料"
    if (off_desk := workflow.reviewer_off_filers_desk(user, claim, "删除材料")) is not None:
        return off_desk
    if claim.state not in REMOVE_STATES:
        return f"理赔当前为“{claim.get_state_display()}”，不能删除材料"
    return None


# ------------------------------------------------------------------ what the bytes are

def sniff(head: bytes, tail: bytes) -> FileType | None:
    """The type the file's first and last bytes prove, or None.

    PDF: ``%PDF-`` then a version digit, and ``%%EOF`` within the last kilobyte. JPEG:
    the SOI marker and a third ``FF`` (a segment follows), ending with the EOI marker
    (trailing NUL or whitespace padding allowed). PNG: the signature, IHDR as the first
    chunk, and the IEND chunk at the very end. A truncated file fails the end check.
    """
    if head.startswith(b"%PDF-") and head[5:6].isdigit() and b"%%EOF" in tail:
        return PDF
    if head.startswith(b"\xff\xd8\xff") and tail.rstrip(b"\x00 \t\r\n").endswith(b"\xff\xd9"):
        return JPEG
    if head.startswith(PNG_SIGNATURE) and head[12:16] == b"IHDR" and tail.endswith(PNG_IEND):
        return PNG
    return None


def _ends(uploaded, size: int) -> tuple[bytes, bytes]:
    uploaded.seek(0)
    head = uploaded.read(16)
    uploaded.seek(max(0, size - TAIL_BYTES))
    tail = uploaded.read(TAIL_BYTES)
    uploaded.seek(0)
    return head, tail


def _image_problem(uploaded: File, kind: FileType) -> str | None:
    """Decode the image with Pillow: a file with the right ends and garbage between is
    refused."""
    too_large = "图片尺寸过大（超过一亿像素），请缩小后再上传"
    uploaded.seek(0)
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb warning comes below MAX_PIXELS; the limit here decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(uploaded, formats=[kind.label]) as image:
                if image.width * image.height > MAX_PIXELS:
                    return too_large
                if kind is JPEG:
                    image.draft("L", (max(1, image.width // 8), max(1, image.height // 8)))
                    image.load()  # at 1/8 scale: every byte of the scan is still decoded
                else:
                    image.verify()  # every chunk's CRC, without allocating the pixels
    except Image.DecompressionBombError:
        return too_large
    except Exception:  # Pillow raises many kinds for a broken file; all mean the same here
        return f"图片无法打开（{kind.label} 文件已损坏或不完整）"
    finally:
        uploaded.seek(0)
    return None


def _digest(uploaded, limit: int) -> tuple[str, int]:
    """sha256 and size of the bytes really received (not the size the client declared)."""
    digest, size = hashlib.sha256(), 0
    for chunk in uploaded.chunks():
        size += len(chunk)
        if size > limit:
            break
        digest.update(chunk)
    return digest.hexdigest(), size


def size_label(n: int) -> str:
    """A limit as people say it: 20 MB, not 20.0 MB."""
    mb = 1024 * 1024
    if n % mb == 0:
        return f"{n // mb} MB"
    return f"{n / mb:.1f} MB" if n >= mb else f"{n} 字节"


@dataclass(frozen=True)
class _Checked:
    kind: FileType
    sha256: str
    size: int


def _check_content(uploaded) -> _Checked:
    limit = max_bytes()
    declared = getattr(uploaded, "size", None)
    if declared is not None and declared > limit:
        raise MaterialRefused(f"文件超过 {size_label(limit)}，请压缩或分开后再上传")
    sha256, size = _digest(uploaded, limit)
    if size > limit:
        raise MaterialRefused(f"文件超过 {size_label(limit)}，请压缩或分开后再上传")
    if size == 0:
        raise MaterialRefused("文件是空的")
    kind = sniff(*_ends(uploaded, size))
    if kind is None:
        raise MaterialRefused(NOT_A_DOCUMENT)
    if kind in (JPEG, PNG) and (problem := _image_problem(uploaded, kind)):
        raise MaterialRefused(problem)
    return _Checked(kind=kind, sha256=sha256, size=size)


def _duplicate(claim: Claim, sha256: str) -> str | None:
    same = claim.materials.filter(sha256=sha256).first()
    if same is None:
        return None
    return (f"同一文件已上传过（{MATERIALS.get(same.kind, same.kind)}“{same.file_name}”），"
            "不能重复上传")


def clean_name(name: str, ext: str) -> str:
    """The name the user gave, without folders or control characters, at most 200
    characters with its extension kept."""
    base = re.sub(r"[\x00-\x1f\x7f]", "", name.replace("\\", "/").rsplit("/", 1)[-1])
    base = " ".join(base.split()) or f"材料.{ext}"
    if len(base) > MAX_NAME:
        _stem, dot, suffix = base.rpartition(".")
        keep = f".{suffix}" if dot and len(suffix) <= 8 else ""
        base = base[:MAX_NAME - len(keep)] + keep
    return base


# ------------------------------------------------------------------ storing

def _write_atomically(uploaded, target: Path) -> None:
    """Write to a hidden part file, then rename: the final name never holds half a file."""
    part = target.with_name(f".{target.name}.part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)  # O_CREAT's mode is masked by the umask
        with os.fdopen(fd, "wb") as handle:
            for chunk in uploaded.chunks():
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(part, target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def _store(uploaded, claim: Claim, kind: FileType) -> Path:
    folder = _private_dir(materials_root() / str(claim.pk))
    target = folder / f"{uuid.uuid4().hex}.{kind.ext}"
    _write_atomically(uploaded, target)
    return target


def _relative(path: Path) -> str:
    return path.relative_to(Path(settings.UPLOAD_ROOT)).as_posix()


def _locked(claim: Claim) -> Claim:
    return Claim.objects.select_for_update().select_related("member__union").get(pk=claim.pk)


def save_material(user: User, claim: Claim, kind: str, uploaded) -> ClaimMaterial:
    """Check and store one uploaded file as material ``kind`` of ``claim``.

    ``uploaded`` is a Django ``UploadedFile`` (or any ``File``: ``name``, ``size``,
    ``chunks()``, ``seek``/``read``). Raises :class:`MaterialRefused`; then no row, no
    file and no audit entry is written.
    """
    problem = why_not_upload(user, claim)
    if problem:
        raise MaterialRefused(problem)
    if kind not in MATERIALS:
        raise MaterialRefused("请选择材料类型")
    checked = _check_content(uploaded)
    if problem := _duplicate(claim, checked.sha256):
        raise MaterialRefused(problem)
    name = clean_name(getattr(uploaded, "name", "") or "", checked.kind.ext)
    target = _store(uploaded, claim, checked.kind)
    try:
        with transaction.atomic():
            # The claim row's lock orders two uploads of one claim: a second copy of the
            # same file, or an upload racing the approval, is refused here.
            claim = _locked(claim)
            problem = why_not_upload(user, claim) or _duplicate(claim, checked.sha256)
            if problem:
                raise MaterialRefused(problem)
            material = ClaimMaterial.objects.create(
                claim=claim, kind=kind, file_name=name, stored_path=_relative(target),
                content_type=checked.kind.content_type, size=checked.size,
                sha256=checked.sha256, uploaded_by=user)
            _audit_upload(user, claim, material)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return material


def store_checked(user: User, claim: Claim, kind: str, uploaded: Any, checked: _Checked,
                  written: list[Path]) -> ClaimMaterial:
    """Store a file already checked (:func:`_check_content`) as material ``kind`` of
    ``claim``, inside the caller's transaction: the file, its row, its audit entry. The
    file's path is appended to ``written`` first, so that the caller deletes it if its
    transaction fails (a member's claim with its photographs, a 复核 with its papers)."""
    target = _store(uploaded, claim, checked.kind)
    written.append(target)
    material = ClaimMaterial.objects.create(
        claim=claim, kind=kind,
        file_name=clean_name(getattr(uploaded, "name", "") or "", checked.kind.ext),
        stored_path=_relative(target), content_type=checked.kind.content_type,
        size=checked.size, sha256=checked.sha256, uploaded_by=user)
    _audit_upload(user, claim, material)
    return material


def _audit_upload(user: User, claim: Claim, material: ClaimMaterial) -> None:
    label = MATERIALS[material.kind]
    log.record(user, AuditEntry.Action.MATERIAL_UPLOADED, material,
               union_path=claim.member.union.path,
               summary=f"理赔 {claim.number}（{claim.member.name} {claim.benefit_name}）"
                       f"上传{label}“{material.file_name}”",
               changes={"claim": claim.number, "kind": label, "file_name": material.file_name,
                        "content_type": material.content_type, "size": material.size,
                        "sha256": material.sha256})


# ------------------------------------------------------------------ removing and opening

def remove_material(user: User, material: ClaimMaterial) -> None:
    """Delete ``material`` and, once the deletion is committed, its file."""
    with transaction.atomic():
        claim = _locked(material.claim)
        problem = why_not_remove(user, claim)
        if problem:
            raise MaterialRefused(problem)
        path = path_of(material)
        label = MATERIALS.get(material.kind, material.kind)
        log.record(user, AuditEntry.Action.CLAIM_CHANGED, claim,
                   union_path=claim.member.union.path,
                   summary=f"理赔 {claim.number}（{claim.member.name} {claim.benefit_name}）"
                           f"删除材料：{label}“{material.file_name}”",
                   changes={"material_removed": f"{label}“{material.file_name}”",
                            "sha256": material.sha256})
        material.delete()
        if path is not None:
            # After the commit: a rolled-back deletion must still have its file.
            transaction.on_commit(lambda: path.unlink(missing_ok=True))


def open_material(user: User, material: ClaimMaterial) -> BinaryIO:
    """The file of ``material`` opened for reading; each call is one audited viewing."""
    claim = material.claim
    if not in_scope(user, claim):
        raise MaterialRefused(OUT_OF_SCOPE)
    path = path_of(material)
    try:
        handle = path.open("rb") if path is not None else None
    except FileNotFoundError:
        handle = None
    if handle is None:
        raise MaterialMissing("材料文件不存在或已被删除")
    log.record(user, AuditEntry.Action.MATERIAL_VIEWED, material,
               union_path=claim.member.union.path,
               summary=f"查看理赔 {claim.number}（{claim.member.name}）的"
                       f"{MATERIALS.get(material.kind, material.kind)}“{material.file_name}”",
               changes={"claim": claim.number, "file_name": material.file_name})
    return handle
