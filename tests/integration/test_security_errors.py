"""issue 8 item 13: every HTTP error answers the Japanese page; unknown sort columns are 400; FAB's
generic /<view>/download/<filename> route is gone (404); a refused CSRF token keeps the input.
(The logged-in browser case of an expired token is tests/e2e/test_security_csrf.py.)"""
import re

import pytest


def text_of(page: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def assert_japanese_error(response, code: int, title: str):
    page = response.get_data(as_text=True)
    assert response.status_code == code, (response.status_code, text_of(page)[:300])
    assert '<html lang="ja">' in page and 'id="error-page"' in page, page[:300]
    assert title in text_of(page)
    for english in ("Method Not Allowed", "Internal Server Error", "Bad Request", "Not Found",
                    "The method is not allowed", "werkzeug"):
        assert english not in page
    return page


def test_405_is_japanese(staff_client):
    page = assert_japanese_error(staff_client.put("/memberview/list/"), 405, "この操作はできません")
    assert "画面のリンクやボタンから操作してください" in page
    assert staff_client.put("/memberview/list/").headers["Allow"]


def test_other_werkzeug_errors_are_japanese(client, app, monkeypatch):
    assert_japanese_error(client.get("/no-such-page/"), 404, "ページが見つかりません")
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 10)
    assert_japanese_error(client.post("/login/", data={"username": "x" * 100}), 413, "ファイルが大きすぎます")


@pytest.mark.parametrize("url", [
    "/memberview/list/?_oc_MemberView=doesnotexist&_od_MemberView=asc",
    "/memberview/list/?_oc_MemberView=kana%3B%20DROP%20TABLE%20member&_od_MemberView=desc",
    "/memberview/export/?_oc_MemberView=doesnotexist&_od_MemberView=asc",
    "/cardview/list/?_oc_CardView=member.nothing&_od_CardView=asc",
])
def test_an_unknown_sort_column_is_400_not_500(staff_client, url):
    assert_japanese_error(staff_client.get(url), 400, "リクエストが正しくありません")


def test_a_known_sort_column_still_sorts(staff_client):
    response = staff_client.get("/memberview/list/?_oc_MemberView=code&_od_MemberView=desc")
    assert response.status_code == 200
    assert staff_client.get("/memberview/export/?_oc_MemberView=code&_od_MemberView=desc").status_code == 200


@pytest.mark.parametrize("url", ["/memberview/download/x.txt", "/cardview/download/..%2F..%2Fconfig.py",
                                 "/users/download/x", "/roles/download/x"])
def test_fabs_file_download_route_is_gone(admin_client, url):
    assert_japanese_error(admin_client.get(url), 404, "ページが見つかりません")


def test_a_refused_csrf_token_keeps_the_input_and_says_to_reload(staff_client, app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    response = staff_client.post("/memberview/add", data={"code": "M0009", "name": "株式会社テスト運輸",
                                                          "csrf_token": "expired", "password": "secret"})
    page = assert_japanese_error(response, 400, "送信できませんでした")
    assert "再読み込み" in text_of(page)
    kept = text_of(re.search(r'<table[^>]*id="kept-input".*?</table>', page, re.S).group(0))
    assert "組合員名 株式会社テスト運輸" in kept and "組合員コード M0009" in kept
    assert "secret" not in page and "expired" not in page
    assert 'href="/memberview/add"' in page
