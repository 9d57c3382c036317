"""The benefit engine: the only place in huzhu that computes money.

Pure Python (no Django): policies are YAML validated by pydantic (:mod:`.schema`),
compiled to one Ibis expression (:mod:`.compiler`) and run on DuckDB or PySpark.
"""

from huzhu.rules.errors import InputError, PolicyError
from huzhu.rules.loader import load_policy, policy_from_dict, shipped_policy_names
from huzhu.rules.schema import Benefit, Policy

__all__ = [
    "Benefit",
    "InputError",
    "Policy",
    "PolicyError",
    "evaluate",
    "evaluate_claim",
    "load_policy",
    "policy_from_dict",
    "shipped_policy_names",
]


def __getattr__(name: str):
    # The evaluator pulls in Ibis/DuckDB/pyarrow; keep `import huzhu.rules` light for
    # callers that only validate policies.
    if name in ("evaluate", "evaluate_claim"):
        from huzhu.rules import engine

        return getattr(engine, name)
    raise AttributeError(name)
