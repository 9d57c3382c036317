"""A ``huzhu feed run`` process killed (SIGKILL) midway, and the command run again: the
final claims are a clean run's. PostgreSQL only: the killed process and the test share
a committed database."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from huzhu.cli import main
from huzhu.feeds.models.proactive import BatchRun, StayOutcome
from tests.coverage.conftest import admin, free_scheme, staff  # noqa: F401
from tests.feeds.proactive.test_runs import EXPECTED, _capped_feed, _claims

ROOT = Path(__file__).resolve().parents[3]
P = StayOutcome.Outcome

# The child writes one stay per chunk and lingers inside each chunk's transaction, so
# that the kill lands while a chunk is being written: that chunk is lost, the earlier
# ones are committed.
CHILD = """
import sys, time
from huzhu.lib.django_setup import setup_django
setup_django()
from huzhu.feeds.proactive import run as batch
from huzhu.feeds.proactive import writes as batch_writes
batch.CHUNK_ROWS = 1
real = batch_writes._write_chunk
def lingering(*args, **kwargs):
    made = real(*args, **kwargs)
    time.sleep(float(sys.argv[1]))
    return made
batch_writes._write_chunk = lingering
from huzhu.cli import main
sys.exit(main(sys.argv[2:]))
"""


def _child_env() -> dict[str, str]:
    db = connection.settings_dict
    url = f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    # The keys are the suite's (tests/settings.py put them in the environment).
    return {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "huzhu.config.settings"}


def _kill_after_first_chunk(proc: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the run ended before it was killed: {log.read_text()}")
        run = BatchRun.objects.first()
        if run is not None and run.done >= 1:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            return
        time.sleep(0.05)
    proc.kill()
    pytest.fail("the run committed no chunk in time")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_killed_run_run_again_gives_the_clean_runs_claims(feed_dir, staff,  # noqa: F811
                                                            free_scheme):  # noqa: F811
    path = _capped_feed(feed_dir, staff)
    again = shutil.copy(path, feed_dir / "again.csv")
    log = feed_dir / "child.log"  # a file, not a pipe nobody reads while it runs
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, "1.0", "feed", "run", str(path),
             "--scheme", free_scheme.code],
            cwd=ROOT, env=_child_env(), stdout=subprocess.DEVNULL, stderr=err)
        _kill_after_first_chunk(proc, log)
    assert proc.returncode == -signal.SIGKILL

    killed = BatchRun.objects.get()
    assert killed.status == BatchRun.Status.RUNNING
    assert 1 <= killed.done < 5
    made = _claims()
    assert 1 <= len(made) < len(EXPECTED)
    assert made.items() <= EXPECTED.items()  # what was committed is final, to the fen

    assert main(["feed", "run", str(again), "--scheme", free_scheme.code]) == 0
    assert _claims() == EXPECTED
    rerun = BatchRun.objects.exclude(pk=killed.pk).get()
    assert rerun.status == BatchRun.Status.DONE
    got = list(StayOutcome.objects.filter(run=rerun).order_by("row", "benefit")
               .values_list("outcome", "reason"))
    # The stays the killed run claimed count as claimed; nothing is claimed twice.
    assert [o for o, _ in got].count(P.ALREADY_CLAIMED) == len(made)
    assert len(got) == 5
