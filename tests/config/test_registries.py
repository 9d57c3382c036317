"""What apps register in ``AppConfig.ready()`` is there in a process that never loads a
URL or a view (a ``huzhu`` subcommand, the task worker): the registries are how lower
apps reach higher ones, so losing one silently drops a check or an effect."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
from huzhu.lib.django_setup import setup_django
setup_django()
import sys
from huzhu.claims import workflow
from huzhu.coverage import engine_inputs, ledger
assert "huzhu.claims.views" not in sys.modules, "a view was loaded"
assert {"submit", "first_pass", "approve"} <= set(workflow.EFFECTS), sorted(workflow.EFFECTS)
assert ledger.PAID_TOTALS, "the claims app's paid totals are not registered"
assert engine_inputs.EXTRA_TABLES, "the claims app's engine tables are not registered"
print("ok")
"""


def test_ready_registers_effects_and_ledger_sources_without_views(tmp_path):
    env = {"DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": ".",
           "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    run = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                         env=env, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip() == "ok"
