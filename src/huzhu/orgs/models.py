"""The union tree, employer units and staff users with their scope."""

from __future__ import annotations

from typing import Any

from django.contrib import auth
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import QuerySet, Value
from django.db.models.functions import Concat, Substr

# ---------------------------------------------------------------- the scope
# What a staff user may see: the subtree of their node. Defined here because the
# querysets' ``visible_to`` need them; other apps import them from :mod:`huzhu.orgs.scope`.


def sees_everything(user: User) -> bool:
    return bool(user.is_superuser and user.union_id is None)


def union_path(user: User) -> str | None:
    """The path prefix of the user's scope; None means the whole tree."""
    if sees_everything(user):
        return None
    if user.union_id is None:
        return "/-none-/"  # a staff user without a node sees nothing
    return user.union.path


def scoped(user: User, queryset: QuerySet, union_field: str = "union") -> QuerySet:
    """Filter ``queryset`` to objects whose ``union_field`` lies in the user's subtree."""
    prefix = union_path(user)
    if prefix is None:
        return queryset
    lookup = "path__startswith" if union_field == "" else f"{union_field}__path__startswith"
    return queryset.filter(**{lookup: prefix})


def scope_union_ids(user: User) -> list[int] | None:
    """Ids of the unions in the user's subtree; None when that is the whole tree.

    Filtering members by ``union_id IN (...)`` uses the (union, id) index and avoids a
    join to the union table, which is what keeps lists fast at a million members.
    """
    prefix = union_path(user)
    if prefix is None:
        return None
    ids = list(Union.objects.filter(path__startswith=prefix).values_list("id", flat=True))
    if ids and not Union.objects.exclude(path__startswith=prefix).exists():
        return None  # the user's node is the only root: no filter needed
    return ids


def scoped_by_ids(user: User, queryset: QuerySet, union_field: str = "union") -> QuerySet:
    """Like :func:`scoped`, but by a list of union ids (no join)."""
    ids = scope_union_ids(user)
    if ids is None:
        return queryset
    return queryset.filter(**{f"{union_field}_id__in": ids})


class UnionQuerySet(models.QuerySet):
    def visible_to(self, user) -> UnionQuerySet:
        return scoped(user, self, union_field="")


class Union(models.Model):
    """A node of the union tree: province → city → district → grassroots."""

    class Level(models.TextChoices):
        PROVINCE = "province", "省总工会"
        CITY = "city", "市总工会"
        DISTRICT = "district", "区县总工会"
        GRASSROOTS = "grassroots", "基层工会"

    code = models.CharField("编码", max_length=32, unique=True)
    name = models.CharField("名称", max_length=200)
    level = models.CharField("层级", max_length=16, choices=Level.choices)
    parent = models.ForeignKey(
        "self", verbose_name="上级工会", null=True, blank=True,
        on_delete=models.PROTECT, related_name="children",
    )
    # Materialised path of ids ("/1/7/42/"): a subtree is one indexed prefix scan.
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")

    objects = UnionQuerySet.as_manager()

    class Meta:
        verbose_name = "工会"
        verbose_name_plural = "工会"
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        path = (self.parent.path if self.parent else "/") + f"{self.pk}/"
        if path != self.path:
            old, self.path = self.path, path
            type(self).objects.filter(pk=self.pk).update(path=path)
            if old:
                # Moved under another parent: the whole subtree's paths follow, or its
                # staff would lose (or gain) the wrong members.
                type(self).objects.filter(path__startswith=old).exclude(pk=self.pk).update(
                    path=Concat(Value(path), Substr("path", len(old) + 1)))

    def subtree(self) -> models.QuerySet[Union]:
        return Union.objects.filter(path__startswith=self.path)

    def ancestors(self) -> list[Union]:
        ids = [int(p) for p in self.path.strip("/").split("/") if p]
        by_id = Union.objects.in_bulk(ids)
        return [by_id[i] for i in ids if i in by_id]


class UnitQuerySet(models.QuerySet):
    def visible_to(self, user) -> UnitQuerySet:
        return scoped_by_ids(user, self)


class Unit(models.Model):
    """An employer (单位) whose staff are members of a grassroots union."""

    name = models.CharField("单位名称", max_length=200, db_index=True)
    uscc = models.CharField("统一社会信用代码", max_length=18, unique=True)
    uscc_check_ok = models.BooleanField(
        "校验位通过", default=True,
        help_text="2016年前发放的部分代码校验位不符，经确认后仍可登记",
    )
    union = models.ForeignKey(
        Union, verbose_name="所属基层工会", on_delete=models.PROTECT, related_name="units"
    )
    contact_name = models.CharField("联系人", max_length=50, blank=True)
    contact_phone = models.CharField("联系电话", max_length=20, blank=True)
    address = models.CharField("地址", max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UnitQuerySet.as_manager()

    class Meta:
        verbose_name = "单位"
        verbose_name_plural = "单位"
        ordering = ["id"]
        indexes = [models.Index(fields=["union", "id"])]

    def __str__(self) -> str:
        return self.name

    def move_to(self, union: Union) -> int:
        """Put the unit under another grassroots union; its members follow, because they
        carry their unit's union for the scope filter. Returns how many members moved."""
        self.union = union
        self.save(update_fields=["union", "updated_at"])
        return self.members.exclude(union=union).update(union=union)


class User(AbstractUser):
    """A staff user: one role, at one node of the union tree, seeing only its subtree."""

    class Role(models.TextChoices):
        CLERK = "clerk", "基层经办"
        REVIEWER = "reviewer", "审核员"
        FINANCE = "finance", "财务"
        ADMIN = "admin", "管理员"
        AUDITOR = "auditor", "审计（只读）"

    role = models.CharField("角色", max_length=16, choices=Role.choices, default=Role.CLERK)
    union = models.ForeignKey(
        Union, verbose_name="所属工会", null=True, blank=True,
        on_delete=models.PROTECT, related_name="staff",
    )
    display_name = models.CharField("姓名", max_length=50, blank=True)

    class Meta:
        verbose_name = "工作人员"
        verbose_name_plural = "工作人员"

    def __str__(self) -> str:
        return self.display_name or self.username

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        """Django lets an active superuser do everything. A superuser who belongs to a
        union node acts in a role there, so the role table decides for them as for
        anyone (``huzhu.orgs.roles.RoleBackend``); the admin site's model permissions
        still come from ``ModelBackend``, which grants every one to a superuser."""
        if self.is_superuser and self.union_id is not None:
            return self.is_active and any(
                backend.has_perm(self, perm, obj) for backend in auth.get_backends()
                if hasattr(backend, "has_perm"))
        return super().has_perm(perm, obj)
