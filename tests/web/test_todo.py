"""Issue 21, item 12: the home page's 待办 panel — per role, the claim work that waits in
the user's scope (待初审, 待复审, 退回待补, 待给付, 待跟进), each linking to its queue."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from django.urls import reverse

from huzhu.claims.models import Claim
from huzhu.claims.workflow import apply
from tests.claims.conftest import (  # noqa: F401  (fixtures)
    admin,
    changchun,
    file_hospital,
    free_scheme,
    staff,
    today,
)
from tests.fixtures import PASSWORD

D = dt.date


def panel(client, username: str) -> dict[str, tuple[int, str]]:
    client.logout()
    assert client.login(username=username, password=PASSWORD)
    page = client.get(reverse("home")).content.decode()
    if 'id="home-todo"' not in page:
        return {}
    found = re.findall(r'href="([^"]*)" id="todo-(\w+)".*?id="todo-count-\w+">([\d,]+)</div>',
                       page, re.S)
    return {key: (int(n.replace(",", "")), url.replace("&amp;", "&")) for url, key, n in found}


def test_each_role_sees_the_work_that_waits_for_it(client, users, staff, file_hospital,  # noqa: F811
                                                   make_member):
    claims = [file_hospital(staff[m]) for m in ("m1", "m2", "m3", "m4")]
    for claim in claims:
        apply(users["clerk_a1"], claim.pk, "submit")
    apply(users["reviewer_da"], claims[1].pk, "return", missing=["invoice"])
    apply(users["reviewer_da"], claims[2].pk, "first_pass")
    apply(users["reviewer_da"], claims[3].pk, "first_pass")
    apply(users["admin_city"], claims[3].pk, "approve")
    # Large and approved: waits for a call to the unit.
    Claim.objects.filter(pk=claims[3].pk).update(computed=Decimal("12000.00"),
                                                 final=Decimal("12000.00"))
    # Another district's claim is outside the clerk's and the district reviewer's scope.
    elsewhere = file_hospital(make_member("b1", name="乙会员"), user="clerk_b1")
    apply(users["clerk_b1"], elsewhere.pk, "submit")

    queue = reverse("claims:queue")
    assert panel(client, "clerk_a1") == {"returned": (1, f"{queue}?state=returned")}
    assert panel(client, "reviewer_da") == {
        "returned": (1, f"{queue}?state=returned"),
        "submitted": (1, f"{queue}?state=submitted"),
        "second_review": (1, f"{queue}?state=second_review"),
        "follow_up": (1, reverse("claims:follow-up"))}
    assert panel(client, "finance_city") == {"approved": (1, f"{queue}?state=approved")}
    admin_sees = panel(client, "admin_city")
    assert admin_sees["submitted"] == (2, f"{queue}?state=submitted")  # the city's two
    assert set(admin_sees) == {"returned", "submitted", "second_review", "approved",
                               "follow_up"}
    assert panel(client, "auditor_city") == {}


def test_the_links_open_the_queue_on_that_work(client, users, staff, file_hospital):  # noqa: F811
    claim = file_hospital(staff["m1"])
    apply(users["clerk_a1"], claim.pk, "submit")
    count, url = panel(client, "reviewer_da")["submitted"]
    assert count == 1
    page = client.get(url).content.decode()
    assert f'id="claim-row-{claim.pk}"' in page and page.count('id="claim-row-') == 1
    home = client.get(reverse("home")).content.decode()
    assert '<div class="text-secondary small">待初审</div>' in home
