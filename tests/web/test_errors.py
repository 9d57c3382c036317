"""With debug mode off (the default): a malformed or huge id is a Chinese 400, an id out
of range in a path is a 404, and a 404 never lists the site's URLs."""

from __future__ import annotations

import pytest

from tests.fixtures import PASSWORD

HUGE = "99999999999999999999999"


@pytest.fixture
def clerk(client, users, settings):
    settings.DEBUG = False
    assert client.login(username="clerk_a1", password=PASSWORD)
    return client


@pytest.mark.parametrize("url", [f"/members/?unit={HUGE}", "/members/?unit=abc",
                                 f"/members/?union={HUGE}", "/members/?union=-1",
                                 f"/units/?union={HUGE}", "/units/?union=abc",
                                 f"/members/?after={HUGE}", "/units/?after=1e3"])
def test_a_bad_id_parameter_is_a_chinese_400(clerk, url):
    response = clerk.get(url)
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="error-400"' in body and "请求中的参数无效" in body
    assert "Traceback" not in body and "Bad Request" not in body


@pytest.mark.parametrize("url", ["/members/99999999999999999999/",
                                 "/units/99999999999999999999/",
                                 "/unions/99999999999999999999/children/"])
def test_an_id_out_of_range_in_the_path_is_a_404(clerk, url):
    response = clerk.get(url)
    assert response.status_code == 404
    assert "找不到您要访问的页面" in response.content.decode()


def test_an_anonymous_404_lists_no_urls(client, db, settings):
    settings.DEBUG = False
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "找不到您要访问的页面" in body
    for leak in ("URLconf", "admin/", "api/", "members/", "imports/"):
        assert leak not in body, leak
