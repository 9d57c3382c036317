"""What a reform would have cost: two policies over the same events (``huzhu simulate``).

:func:`simulate` (Arrow tables, for the web app's what-if screen) and
:func:`simulate_files` (CSV/Parquet, for the command) load and check the inputs once,
then run both compiled plans in ONE DuckDB statement joined on ``event_id``; every figure
of the :class:`SimulationReport` is a Decimal sum over that join. Events may name a
benefit only one of the two policies has (a reform that adds or removes one): under the
other they are ``benefit_not_in_policy`` and pay 0.00.

"Members" in the counts are the members with at least one event in the run; a member is
paid more, less or the same by comparing the sum of their payables under each policy
(within a group, their payables in that group).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from huzhu.rules.batch import input_source
from huzhu.rules.inputs import Source, arrow_source, load_input
from huzhu.rules.plans import compiled_sql
from huzhu.rules.reform import ParameterChange, describe_changes
from huzhu.rules.schema import Policy

TOP_CHANGES = 20
UNION_COLUMNS = ("union", "工会", "union_name")
"""Names a members file may give its union column (per-union figures when present)."""
ENGINES = ("duckdb", "pyspark")
Query = Callable[[str], list[tuple[Any, ...]]]
"""Runs one SELECT of the report on the engine that holds ``hz_sim`` (and ``hz_unions``);
the report's SQL is written so that DuckDB and Spark read it alike."""
MONTH = {"duckdb": "strftime(event_date, '%Y-%m')",
         "pyspark": "date_format(event_date, 'yyyy-MM')"}
EVENT_COLUMNS = ("event_id, member_id, benefit, event_date, a_payable AS base_payable, "
                 "b_payable AS reform_payable, diff AS difference, a_status AS base_status, "
                 "b_status AS reform_status, a_reason AS base_reason, b_reason AS reform_reason")
"""The per-event file of ``huzhu simulate --events-out``, in (event_date, event_id) order."""
EXPLAINED = ("payable", "status", "reason", "reason_message", "band", "grade", "rate",
             "raw_amount", "cap", "base", "days_paid")


@dataclass(frozen=True)
class PolicyInfo:
    code: str
    name: str
    version: str
    content_hash: str

    @classmethod
    def of(cls, policy: Policy) -> PolicyInfo:
        return cls(policy.code, policy.name, policy.version, policy.content_hash)


@dataclass(frozen=True)
class GroupRow:
    """One line of a breakdown (a benefit, band, month or union)."""

    key: str
    label: str
    events: int
    base_total: Decimal
    reform_total: Decimal
    difference: Decimal
    paid_more: int
    paid_less: int
    unchanged: int
    """Members whose payables in this group rise, fall or stay."""


@dataclass(frozen=True)
class EventChange:
    event_id: str
    member_id: str
    benefit: str
    event_date: Any
    difference: Decimal
    base: dict[str, Any]
    reform: dict[str, Any]
    """The explanation under each policy: payable, status, reason, reason_message, band,
    grade, rate, raw_amount, cap, base, days_paid."""


@dataclass
class SimulationReport:
    base: PolicyInfo
    reform: PolicyInfo
    changes: list[ParameterChange]
    events: int
    members: int
    base_total: Decimal
    reform_total: Decimal
    difference: Decimal
    members_paid_more: int
    members_paid_less: int
    members_unchanged: int
    by_benefit: list[GroupRow] = field(default_factory=list)
    by_band: list[GroupRow] = field(default_factory=list)
    by_month: list[GroupRow] = field(default_factory=list)
    by_union: list[GroupRow] | None = None
    """None when the members file has no union column."""
    largest: list[EventChange] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain data; amounts as strings with two decimals, dates as ISO text."""
        plain: dict[str, Any] = _plain({
            "base_total": self.base_total, "reform_total": self.reform_total,
            "difference": self.difference, "members_paid_more": self.members_paid_more,
            "members_paid_less": self.members_paid_less,
            "members_unchanged": self.members_unchanged, "events": self.events,
            "members": self.members, "base": asdict(self.base), "reform": asdict(self.reform),
            "changes": [c.to_dict() for c in self.changes],
            "by_benefit": [asdict(r) for r in self.by_benefit],
            "by_band": [asdict(r) for r in self.by_band],
            "by_month": [asdict(r) for r in self.by_month],
            "by_union": None if self.by_union is None else [asdict(r) for r in self.by_union],
            "largest": [asdict(r) for r in self.largest],
        })
        return plain

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Money is quantized to the fen already ("12160.00"); rates keep four places.
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


# ---------------------------------------------------------------- running


def simulate(base_policy: Policy, reform_policy: Policy, members: Any, events: Any,
             enrolments: Any = None, prior: Any = None) -> SimulationReport:
    """Both policies over the same Arrow tables (a ``union`` column in ``members`` adds
    the per-union breakdown). Raises :class:`~huzhu.rules.errors.InputError` on bad input."""
    con = duckdb.connect()
    try:
        sources = {kind: arrow_source(con, kind, table) if table is not None else None
                   for kind, table in (("members", members), ("events", events),
                                       ("enrolments", enrolments), ("prior", prior))}
        return _simulate(con, base_policy, reform_policy, sources)
    finally:
        con.close()


def simulate_files(base_policy: Policy, reform_policy: Policy, *, members: str, events: str,
                   enrolments: str | None = None, prior: str | None = None,
                   threads: int | None = None, engine: str = "duckdb",
                   spark_session: Any = None, events_out: str | None = None
                   ) -> SimulationReport:
    """Both policies over the same CSV/Parquet files (the ``huzhu calc`` formats; a
    directory of Parquet parts counts as one file).

    ``engine="pyspark"``: the inputs are read and both plans run on ``spark_session``
    (Parquet only, any path the session reaches); the report is the same to the fen.
    ``events_out``: also write each event's payable under both policies as Parquet (a
    file on DuckDB, a directory of parts on Spark; columns :data:`EVENT_COLUMNS`)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; use one of {ENGINES}")
    paths = {"members": members, "events": events, "enrolments": enrolments, "prior": prior}
    if engine == "pyspark":
        return _simulate_on_spark(spark_session, base_policy, reform_policy, paths,
                                  events_out)
    con = duckdb.connect()
    try:
        if threads:
            con.execute(f"SET threads TO {int(threads)}")
        sources = {kind: input_source(con, path) if path else None
                   for kind, path in paths.items()}
        report = _simulate(con, base_policy, reform_policy, sources)
        if events_out is not None:
            _write_events_duckdb(con, events_out)
        return report
    finally:
        con.close()


def _all_benefits(base: Policy, reform: Policy) -> tuple[list[str], list[str]]:
    codes = list(dict.fromkeys([*base.benefit_codes, *reform.benefit_codes]))
    day_capped = list(dict.fromkeys([*base.day_capped_codes, *reform.day_capped_codes]))
    return codes, day_capped


def _sim_select(base: Policy, reform: Policy, dialect: str, with_prior: bool) -> str:
    """Both plans over the same typed tables, joined by event: the rows of ``hz_sim``."""
    plan_a, plan_b = (compiled_sql(p, dialect, with_prior=with_prior, foreign_benefits=True)
                      for p in (base, reform))
    pick = ", ".join(f"a.{c} AS a_{c}, b.{c} AS b_{c}" for c in EXPLAINED)
    return (f"SELECT a.event_id, a.member_id, a.benefit, a.event_date, {pick}, "
            f"b.payable - a.payable AS diff "
            f"FROM ({plan_a}) a JOIN ({plan_b}) b ON a.event_id = b.event_id")


def _simulate(con: duckdb.DuckDBPyConnection, base: Policy, reform: Policy,
              sources: dict[str, Source | None]) -> SimulationReport:
    codes, day_capped = _all_benefits(base, reform)
    for kind, source in sources.items():
        load_input(con, kind, source, benefits=codes if kind in ("events", "prior") else None,
                   day_capped=day_capped)
    has_unions = _load_unions(con, sources["members"])
    # One statement: both plans read the same typed tables and are joined by event.
    con.execute("CREATE TEMP TABLE hz_sim AS "
                + _sim_select(base, reform, "duckdb", sources["prior"] is not None))
    return _report(lambda sql: con.execute(sql).fetchall(), base, reform, has_unions,
                   MONTH["duckdb"])


def _write_events_duckdb(con: duckdb.DuckDBPyConnection, out: str) -> None:
    # Written beside the target and renamed: a failed write leaves no partial file.
    target = Path(out)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        con.execute(f"COPY (SELECT {EVENT_COLUMNS} FROM hz_sim ORDER BY event_date, event_id) "
                    f"TO '{str(tmp).replace(chr(39), chr(39) * 2)}' (FORMAT parquet)")
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def _simulate_on_spark(spark: Any, base: Policy, reform: Policy,
                       paths: dict[str, str | None], events_out: str | None
                       ) -> SimulationReport:
    # Lazy: pyspark is an optional extra, loaded only for this engine.
    from pyspark import StorageLevel

    from huzhu.rules.spark import register_inputs, session_for

    spark = spark or session_for(app_name="huzhu-simulate")
    codes, day_capped = _all_benefits(base, reform)
    inputs = register_inputs(spark, paths, codes, day_capped)
    sim = spark.sql(_sim_select(base, reform, "pyspark", paths["prior"] is not None))
    # The report reads hz_sim some ten times: kept after the first (spilled to disk
    # when it does not fit), not recomputed by both plans each time.
    sim = sim.persist(StorageLevel.MEMORY_AND_DISK)
    sim.createOrReplaceTempView("hz_sim")
    try:
        has_unions = False
        members = inputs.frames["members"]
        if members is not None:
            names = {f.name.strip().lstrip("\ufeff").lower(): f.name
                     for f in members.schema.fields}
            members.createOrReplaceTempView("hz_raw_union_members")
            sql = _unions_sql(names, "hz_raw_union_members", _backtick)
            if sql is not None:
                spark.sql(sql).createOrReplaceTempView("hz_unions")
                has_unions = True
        report = _report(lambda q: [tuple(r) for r in spark.sql(q).collect()], base, reform,
                         has_unions, MONTH["pyspark"])
        if events_out is not None:
            spark.sql(f"SELECT {EVENT_COLUMNS} FROM hz_sim ORDER BY event_date, event_id") \
                .write.mode("overwrite").parquet(events_out)
        return report
    finally:
        sim.unpersist()


def _load_unions(con: duckdb.DuckDBPyConnection, source: Source | None) -> bool:
    if source is None:
        return False
    names = {str(r[0]).strip().lstrip("\ufeff").lower(): str(r[0]) for r in
             con.execute(f"DESCRIBE SELECT * FROM {source.relation}").fetchall()}
    sql = _unions_sql(names, source.relation, _q)
    if sql is None:
        return False
    con.execute(f"CREATE TEMP TABLE hz_unions AS {sql}")
    return True


def _unions_sql(names: dict[str, str], relation: str, quote: Callable[[str], str]
                ) -> str | None:
    """Each member's union (the members file's union column), or None without one."""
    column = next((names[c] for c in UNION_COLUMNS if c in names), None)
    if column is None:
        return None
    member = names["member_id"]
    return ("SELECT "
            f"NULLIF(trim(CAST({quote(member)} AS STRING)), '') AS member_id, "
            f"any_value(NULLIF(trim(CAST({quote(column)} AS STRING)), '')) AS union_name "
            f"FROM {relation} GROUP BY 1")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _backtick(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _report(query: Query, base: Policy, reform: Policy, has_unions: bool,
            month: str) -> SimulationReport:
    n_events, n_members, a_total, b_total = query(
        "SELECT count(*), count(DISTINCT member_id), coalesce(sum(a_payable), 0), "
        "coalesce(sum(b_payable), 0) FROM hz_sim")[0]
    more, less, same = query(
        "SELECT count(*) FILTER (WHERE d > 0), count(*) FILTER (WHERE d < 0), "
        "count(*) FILTER (WHERE d = 0) FROM (SELECT sum(diff) AS d FROM hz_sim "
        "GROUP BY member_id)")[0]
    names = {b.code: b.name for b in [*base.benefits, *reform.benefits]}
    # A disability's tier is its grade, not the outcome "disability".
    band = ("benefit || ' ' || coalesce(nullif(a_band, 'disability'), "
            "CAST(a_grade AS STRING) || '级', nullif(b_band, 'disability'), "
            "CAST(b_grade AS STRING) || '级', '（无档次）')")
    report = SimulationReport(
        base=PolicyInfo.of(base), reform=PolicyInfo.of(reform),
        changes=describe_changes(base, reform), events=int(n_events), members=int(n_members),
        base_total=_money(a_total), reform_total=_money(b_total),
        difference=_money(b_total) - _money(a_total), members_paid_more=int(more),
        members_paid_less=int(less), members_unchanged=int(same),
        by_benefit=_groups(query, "benefit", "hz_sim", order="min(first_row)",
                           label=lambda k: f"{names.get(k, k)}（{k}）"),
        by_band=_groups(query, band, "hz_sim", order="min(bn), min(lo)",
                        label=lambda k: _band_label(k, names)),
        by_month=_groups(query, month, "hz_sim"),
        largest=_largest(query),
    )
    if has_unions:
        report.by_union = _groups(
            query, "coalesce(union_name, '（未填工会）')",
            "(SELECT s.*, u.union_name FROM hz_sim s "
            "LEFT JOIN hz_unions u ON s.member_id = u.member_id)")
    return report


def _money(value: Any) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


# The outcome formula's tiers (compiler._outcome_parts), as the statistics name them.
OUTCOME_TIERS = {"death": "身故", "fracture:major": "骨折（主要部位）",
                 "fracture:other": "骨折（其他部位）"}


def _band_label(key: str, names: dict[str, str]) -> str:
    """``accident fracture:major`` → 非工伤意外伤害补贴 · 骨折（主要部位）."""
    code, _, tier = key.partition(" ")
    return f"{names.get(code, code)} · {OUTCOME_TIERS.get(tier, tier)}"


def _groups(query: Query, key: str, source: str, *, order: str = "k",
            label: Any = None) -> list[GroupRow]:
    rows = query(f"""
        WITH per_member AS (
            SELECT {key} AS k, member_id, count(*) AS n, sum(a_payable) AS a,
                   sum(b_payable) AS b, min(coalesce(a_base, b_base)) AS lo,
                   min(event_id) AS first_row, min(benefit) AS bn
            FROM {source} GROUP BY 1, 2)
        SELECT k, sum(n), sum(a), sum(b), count(*) FILTER (WHERE b > a),
               count(*) FILTER (WHERE b < a), count(*) FILTER (WHERE b = a)
        FROM per_member GROUP BY k ORDER BY {order}, k
    """)
    return [GroupRow(key=str(k), label=label(k) if label else str(k), events=int(n),
                     base_total=_money(a), reform_total=_money(b),
                     difference=_money(b) - _money(a), paid_more=int(up), paid_less=int(down),
                     unchanged=int(same))
            for k, n, a, b, up, down, same in rows]


def _largest(query: Query) -> list[EventChange]:
    cols = [f"{side}_{c}" for side in ("a", "b") for c in EXPLAINED]
    rows = query(
        f"SELECT event_id, member_id, benefit, event_date, diff, {', '.join(cols)} "
        f"FROM hz_sim WHERE diff <> 0 ORDER BY abs(diff) DESC, event_id LIMIT {TOP_CHANGES}"
    )
    out = []
    for row in rows:
        a = dict(zip(EXPLAINED, row[5:5 + len(EXPLAINED)], strict=True))
        b = dict(zip(EXPLAINED, row[5 + len(EXPLAINED):], strict=True))
        out.append(EventChange(row[0], row[1], row[2], row[3], _money(row[4]), a, b))
    return out


# ---------------------------------------------------------------- text table


def print_report(report: SimulationReport, console: Any = None) -> None:
    """The report as tables in Chinese (the same numbers as the xlsx)."""
    # Lazy: only the terminal needs rich; the web app's what-if runs import this module.
    from rich.console import Console
    from rich.table import Table

    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=160)
    console.print(f"[bold]改革测算[/bold]：{report.base.name}（{report.base.code}）"
                  f" → {report.reform.name}（{report.reform.code}）")
    changes = Table(title="一、方案变化（逐项参数）")
    for title in ("项目与参数", "原方案", "改革方案"):
        changes.add_column(title)
    for c in report.changes:
        changes.add_row(c.label, c.before, c.after)
    if not report.changes:
        changes.add_row("（两个方案内容相同）", "", "")
    console.print(changes)
    console.print(_summary_table(report, Table))
    for title, rows in _breakdowns(report):
        console.print(_group_table(title, rows, Table))
    console.print(_largest_table(report, Table))


def _summary_table(report: SimulationReport, table_cls: Any) -> Any:
    t = table_cls(title=f"二、总体（{report.events:,} 个事件，{report.members:,} 名会员）")
    for title in ("指标", "原方案", "改革方案", "差额"):
        t.add_column(title, justify="right")
    t.add_row("应付合计（元）", _m(report.base_total), _m(report.reform_total),
              _m(report.difference, signed=True))
    # Member counts compare the two policies: one figure each, in the 差额 column.
    for label, n in (("多付的会员（人）", report.members_paid_more),
                     ("少付的会员（人）", report.members_paid_less),
                     ("不变的会员（人）", report.members_unchanged)):
        t.add_row(label, "", "", f"{n:,}")
    return t


def _breakdowns(report: SimulationReport) -> list[tuple[str, list[GroupRow]]]:
    out = [("三、按保障项目", report.by_benefit),
           ("四、按档次或伤残等级（原方案的档次；原方案不给付的，按改革方案的档次）",
            report.by_band), ("五、按月份", report.by_month)]
    if report.by_union is not None:
        out.append(("六、按工会", report.by_union))
    return out


def _group_table(title: str, rows: list[GroupRow], table_cls: Any) -> Any:
    t = table_cls(title=title)
    for name in ("分组", "事件数", "原方案（元）", "改革方案（元）", "差额（元）", "多付人数",
                 "少付人数", "不变人数"):
        t.add_column(name, justify="left" if name == "分组" else "right")
    for r in rows:
        t.add_row(r.label, f"{r.events:,}", _m(r.base_total), _m(r.reform_total),
                  _m(r.difference, signed=True), f"{r.paid_more:,}", f"{r.paid_less:,}",
                  f"{r.unchanged:,}")
    return t


def _largest_table(report: SimulationReport, table_cls: Any) -> Any:
    t = table_cls(title=f"七、变化最大的 {TOP_CHANGES} 个事件")
    for name in ("事件", "会员", "项目", "日期", "原方案", "改革方案", "差额（元）"):
        t.add_column(name, justify="right" if name == "差额（元）" else "left")
    for e in report.largest:
        t.add_row(e.event_id, e.member_id, e.benefit, str(e.event_date), explain(e.base),
                  explain(e.reform), _m(e.difference, signed=True))
    return t


def explain(side: dict[str, Any]) -> str:
    """One side of an event in a line: 12160.00 元（(150000,300000] 8%，超过…）."""
    parts = []
    if side.get("band"):
        rate = side.get("rate")
        parts.append(f"{side['band']}" + (f" {rate * 100:.2f}%".replace(".00%", "%")
                                          if rate is not None else ""))
    if side.get("days_paid") is not None:
        parts.append(f"{side['days_paid']} 天")
    if side.get("reason_message"):
        parts.append(str(side["reason_message"]))
    detail = f"（{'，'.join(parts)}）" if parts else ""
    return f"{_m(side['payable'])} 元{detail}"


def _m(value: Decimal, signed: bool = False) -> str:
    text = f"{value:,.2f}"
    return f"+{text}" if signed and value > 0 else text
