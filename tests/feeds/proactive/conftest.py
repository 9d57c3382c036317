"""The proactive batch's fixtures: a local SparkSession for the runs on Spark, under the
suite's rule for a missing tool (:func:`tests.conftest.missing`: a failure under CI=true,
a skip elsewhere), as the engine's own Spark tests have it."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.conftest import missing


@pytest.fixture(scope="module")
def spark():
    try:
        import pyspark  # noqa: F401  (an optional extra: huzhu[spark])
    except ImportError:
        missing("pyspark 未安装（pip install 'huzhu[spark]'）")
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        missing("找不到 Java（PySpark 需要 Java 17）")
    from huzhu.rules.spark import local_session

    session = local_session()
    yield session
    session.stop()
