"""Engine tests keep compiled plans in a temporary folder of their own, so a run never
reads a plan (or a policy's cached facts) left by another checkout or an earlier run."""

from __future__ import annotations

import os
import tempfile

_CACHE = tempfile.mkdtemp(prefix="huzhu-plans-")
os.environ["HUZHU_PLAN_CACHE"] = _CACHE
