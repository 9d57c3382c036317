"""The notification outbox: bulk enqueue, the "pending and due" scan, and sending.

Builds a throwaway SQLite database under bench/out/notify/ (or uses ``DATABASE_URL``),
enqueues N reminders with ``outbox.enqueue_many`` (again, to time the all-duplicates
case), sends M of them through the file gateway with ``send_due`` and times the due
scan with a million rows in the table when ``--rows`` says so. Prints a table.

    .venv/bin/python bench/bench_notify.py [--drafts 100000] [--send 20000] [--rows 0]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out" / "notify"


def setup_django() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    os.environ["HUZHU_VAR_DIR"] = str(OUT)
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{OUT / 'notify.sqlite3'}")
    from huzhu.config.secrets import new_keys

    for name, value in new_keys().items():  # a throwaway database: throwaway keys
        os.environ.setdefault(name, value)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huzhu.config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def drafts(n: int, union_id: int, prefix: str):
    from huzhu.notify.outbox import Draft

    for i in range(n):
        yield Draft(kind="bench.renewal", to=f"13{i % 10}{i:08d}",
                    text=f"【基准市总工会】会员{i}您好：您参加的宁陕县职工互助保障将于2025年12月31日"
                         "到期，请在12月20日前由单位工会办理续保。", dedupe_key=f"{prefix}:{i}",
                    union=union_id)


def timed(label: str, fn, rows: list) -> object:
    started = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - started
    rows.append((label, elapsed, result))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drafts", type=int, default=100_000)
    parser.add_argument("--send", type=int, default=20_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--rows", type=int, default=0,
                        help="sent rows to add first, to time the due scan at that size")
    args = parser.parse_args(argv)
    setup_django()
    from django.db import connection

    from huzhu.notify import outbox, sending
    from huzhu.notify.models import OutboxMessage
    from huzhu.orgs.models import Union

    outbox.register_kind("bench.renewal", "续保提醒")
    union = Union.objects.create(code="B", name="基准市总工会", level="city")
    rows: list = []
    if args.rows:
        outbox.enqueue_many(drafts(args.rows, union.pk, "old"))
        OutboxMessage.objects.update(state=OutboxMessage.State.SENT)
    timed(f"enqueue_many {args.drafts:,} new", lambda: outbox.enqueue_many(
        drafts(args.drafts, union.pk, "r")), rows)
    timed(f"enqueue_many {args.drafts:,} again (all duplicates)", lambda: outbox.enqueue_many(
        drafts(args.drafts, union.pk, "r")), rows)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # what autovacuum does after a bulk load
            cursor.execute("ANALYZE notify_outboxmessage")
    timed("due scan (first 20)", lambda: len(list(
        OutboxMessage.objects.due().order_by("next_attempt_at", "id")[:20])), rows)
    if args.profile:
        import cProfile

        cProfile.runctx("sending.send_due(limit=2000)", globals(), locals(),
                        sort="tottime")
    result = timed(f"send_due {args.send:,} (file gateway)",
                   lambda: sending.send_due(limit=args.send)["sent"], rows)
    print(f"database: {connection.vendor}; table rows: {OutboxMessage.objects.count():,}")
    print(f"{'step':<48} {'seconds':>8}  result")
    for label, elapsed, value in rows:
        print(f"{label:<48} {elapsed:8.2f}  {value}")
    sent_label, sent_seconds, _ = rows[-1]
    print(f"send_due throughput: {result / sent_seconds:,.0f} messages/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
