"""The template filters every page reads amounts and shares through."""

from __future__ import annotations

from decimal import Decimal

import pytest

from huzhu.lib.templatetags.money import share, yuan


@pytest.mark.parametrize("raw, text", [
    (Decimal("880.000000"), "880.00"), (Decimal("1196623.97000000000"), "1,196,623.97"),
    (Decimal("0.0100000000000000"), "0.01"), (Decimal("69987.5"), "69,987.50"),
    (Decimal("47921.4000000000"), "47,921.40"), ("808214.280000", "808,214.28"),
    (None, "0.00"), ("", "0.00"), (1740, "1,740.00"), (0.1, "—"), ("abc", "—"),
])
def test_yuan_reads_two_places_and_groups(raw, text):
    assert yuan(raw) == text


@pytest.mark.parametrize("raw, text", [
    (Decimal("0.500"), "50%"), (Decimal("0.5"), "50%"), (Decimal("1.000"), "100%"),
    (Decimal("0.667"), "66.7%"), (Decimal("0.125"), "12.5%"), (Decimal("0.0005"), "0.1%"),
    (None, "—"), ("x", "—"), (0.5, "—"),
])
def test_share_reads_a_fraction_as_percent(raw, text):
    assert share(raw) == text
