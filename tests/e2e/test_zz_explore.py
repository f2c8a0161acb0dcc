import re
from tests.conftest import STAFF_PASSWORD
def test_explore(page):
    page.goto("/login/")
    page.get_by_label("ユーザー名").fill("staff")
    page.get_by_label("パスワード").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="サインイン").click()
    page.wait_for_load_state()
    print("URL", page.url)
    for url in ["/memberview/add", "/vehicleview/add", "/cardview/add", "/cardeventview/add"]:
        page.goto(url)
        html = page.content()
        m = re.search(r"<form.*?</form>", html, re.S)
        print("=====", url, page.title())
        print(re.sub(r"\n\s*\n+", "\n", m.group(0)) if m else html[:3000])
