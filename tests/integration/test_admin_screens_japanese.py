"""Issue 9 item 12: the admin's role and user screens in Japanese — permissions as 「ETCカード: 一覧」,
no 「Public」 role to give a person, no user-statistics chart that needs the internet."""
import re

from app.security.permission_labels import expand, permission_label, view_label


def text(response):
    return response.get_data(as_text=True)


def test_role_patterns_expand_to_the_names_they_stand_for():
    assert expand("(can_(list|show|add)|print_forms)$") == ["can_list", "can_show", "can_add", "print_forms"]
    assert expand("can_this_form_(get|post)$") == ["can_this_form_get", "can_this_form_post"]
    assert expand("CardView") == ["CardView"]
    assert permission_label("can_(list|export)$") == "一覧・Excel出力"


def test_view_names_read_as_the_menu_labels(app):
    with app.app_context():
        assert view_label("CardView") == "ETCカード"
        assert view_label("(MemberView|VehicleView)$") == "組合員・車両"
        assert view_label("UserDBModelView") == "ユーザー一覧"  # its menu label


def test_role_screen_lists_permissions_in_japanese(admin_client, db):
    roles = text(admin_client.get("/roles/list/"))
    edit = re.search(r'href="(/roles/edit/\d+)[^"]*"', roles).group(1)
    page = text(admin_client.get(edit))
    options = re.findall(r"<option[^>]*>([^<]*)</option>", page)
    assert options and all(": " in o for o in options)
    assert not [o for o in options if re.search(r"\bcan[_ ]|View\b| on ", o)], [o for o in options if " on " in o][:5]
    assert any(o.startswith("ETCカード") or "・ETCカード" in o for o in options)


def test_user_form_offers_no_public_role_and_no_statistics_chart(admin_client, db):
    page = text(admin_client.get("/users/add"))
    roles = re.search(r'<select[^>]*id="roles".*?</select>', page, re.S).group(0)
    assert "Public" not in roles and "事務" in roles
    assert admin_client.get("/users/userstatschart/").status_code == 404
    assert "ユーザー統計" not in text(admin_client.get("/users/list/"))
