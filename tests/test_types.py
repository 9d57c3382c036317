"""The mypy gate of ``make test`` (tools/mypy_baseline.py): errors in the strict packages
fail, a file over its allowance fails, a file that got better is only reported."""

from __future__ import annotations

from collections import Counter

from tools.mypy_baseline import compare, count

OUTPUT = """\
src/huzhu/claims/views.py:10: error: Missing type parameters for generic type "dict"  [type-arg]
src/huzhu/claims/views.py:12: note: See https://mypy.readthedocs.io
src/huzhu/claims/views.py:20: error: Incompatible return value type  [return-value]
src/huzhu/rules/money.py:3: error: Function is missing a return type annotation  [no-untyped-def]
src/huzhu/feeds/api.py:1: error: Name "x" is not defined  [name-defined]
Found 4 errors in 3 files (checked 300 source files)
"""


def test_errors_are_counted_per_file_and_notes_are_not():
    assert count(OUTPUT) == Counter({"src/huzhu/claims/views.py": 2,
                                     "src/huzhu/rules/money.py": 1,
                                     "src/huzhu/feeds/api.py": 1})


def test_a_strict_error_and_a_file_over_its_allowance_fail_a_better_one_is_reported():
    allowed = {"src/huzhu/claims/views.py": 1, "src/huzhu/feeds/api.py": 3,
               "src/huzhu/coverage/pdf.py": 2}
    strict, worse, better = compare(count(OUTPUT), allowed)
    assert strict == {"src/huzhu/rules/money.py": 1}
    assert worse == {"src/huzhu/claims/views.py": (2, 1)}
    assert better == {"src/huzhu/feeds/api.py": (1, 3), "src/huzhu/coverage/pdf.py": (0, 2)}


def test_a_new_file_with_errors_has_no_allowance():
    strict, worse, _ = compare(Counter({"src/huzhu/claims/new.py": 1}), {})
    assert worse == {"src/huzhu/claims/new.py": (1, 0)} and not strict
