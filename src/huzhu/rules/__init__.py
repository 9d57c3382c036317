"""The benefit engine: the only place in huzhu that computes money.

Pure Python (no Django): policies are YAML validated by pydantic (:mod:`.schema`),
compiled to one Ibis expression (:mod:`.compiler`) and run on DuckDB or PySpark.

Public functions: :func:`load_policy` / :func:`load_reform` / :func:`policy_from_dict`,
:func:`evaluate` (a batch of Arrow tables) and :func:`evaluate_claim` (one event),
:func:`simulate` (two policies over the same events → :class:`SimulationReport`, with
``to_json()``), :func:`write_xlsx` (that report as a workbook), :func:`describe_changes`
(what differs between two policies, in Chinese). ``Policy.content_hash`` identifies a
policy's content.
"""

import importlib
from typing import Any

from huzhu.rules.errors import InputError, PolicyError

__all__ = [
    "Benefit",
    "InputError",
    "ParameterChange",
    "Policy",
    "PolicyError",
    "SimulationReport",
    "describe_changes",
    "evaluate",
    "evaluate_claim",
    "load_policy",
    "load_reform",
    "policy_from_dict",
    "shipped_policy_names",
    "shipped_reform_names",
    "simulate",
    "simulate_files",
    "write_xlsx",
]

_LAZY = {
    "load_policy": "huzhu.rules.loader",
    "load_reform": "huzhu.rules.loader",
    "policy_from_dict": "huzhu.rules.loader",
    "shipped_policy_names": "huzhu.rules.loader",
    "shipped_reform_names": "huzhu.rules.loader",
    "Benefit": "huzhu.rules.schema",
    "Policy": "huzhu.rules.schema",
    "evaluate": "huzhu.rules.engine",
    "evaluate_claim": "huzhu.rules.engine",
    "simulate": "huzhu.rules.simulation",
    "simulate_files": "huzhu.rules.simulation",
    "SimulationReport": "huzhu.rules.simulation",
    "write_xlsx": "huzhu.rules.simulate_xlsx",
    "describe_changes": "huzhu.rules.reform",
    "ParameterChange": "huzhu.rules.reform",
}


def __getattr__(name: str) -> Any:
    # The evaluator pulls in Ibis/DuckDB/pyarrow, the schema pydantic: `import
    # huzhu.rules.batch` (a cached `huzhu calc`) needs neither.
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
