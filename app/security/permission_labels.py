"""Permissions as an administrator reads them on the role and user screens (issue 9 item 12):
「ETCカード: 一覧」, not `can list on CardView`.

FAB names a permission by its code (can_list) and a view by its class or menu name (CardView, Cards);
Tollbook's roles (app/security/roles.py) are regular expressions over those names, which FAB also stores.
The label is made from the menu's own Japanese labels (so it follows a renamed menu), the permission
names below, and, for a stored pattern, the names it stands for.
"""
import re

from flask import has_app_context

PERMISSIONS = {
    "can_list": "一覧", "can_show": "詳細", "can_add": "登録", "can_edit": "編集", "can_delete": "削除",
    "can_export": "Excel出力", "can_download": "ダウンロード", "can_upload": "取込", "menu_access": "メニュー表示",
    "can_this_form_get": "画面表示", "can_this_form_post": "送信", "can_run": "実行", "can_close": "締め",
    "can_adjust": "訂正", "can_reissue": "再発行", "can_render": "帳票作成", "can_confirm": "確認",
    "can_assign": "割り当て", "can_forms": "申請書", "can_template": "ひな形", "can_register": "登録",
    "can_index": "表示", "can_get": "参照", "can_chart": "グラフ", "can_userinfo": "ユーザー情報",
    "userinfoedit": "ユーザー情報の編集", "resetmypassword": "自分のパスワード変更", "resetpasswords": "パスワードの再設定",
    "print_forms": "申請書の印刷", "copy": "複製", "copyrole": "ロールの複製", "unlock": "ロック解除",
    "reset_2fa": "2段階認証のリセット", "can_generate": "作成", "can_send": "送付済にする", "can_issue": "発行",
    "can_reset": "リセット", "can_lock": "停止", "can_unlock": "停止の解除", "can_resend": "再送", "can_retry": "再実行",
    "can_import": "取込", "can_approve": "承認", "can_write_off": "償却", "can_writeoff": "償却", "can_pay": "支払",
    "can_record": "記録", "can_letters": "通知書", "can_password": "パスワード変更", "can_history": "履歴", "can_run_now": "今すぐ実行",
    "can_request": "依頼", "can_match": "消込", "can_revise": "改定", "can_replace": "差し替え",
}
# FAB's own screens (their menu labels are translated elsewhere; these have no menu item).
VIEWS = {
    "UserDBModelView": "ユーザー", "RoleModelView": "ロール", "UserGroupModelView": "グループ",
    "PermissionModelView": "権限", "ViewMenuModelView": "画面・メニュー", "PermissionViewModelView": "画面ごとの権限",
    "UserInfoEditView": "ユーザー情報", "ResetMyPasswordView": "パスワード変更", "ResetPasswordView": "パスワードの再設定",
    "UserStatsChartView": "ユーザー統計", "MenuApi": "メニュー", "Security": "セキュリティ", "List Users": "ユーザー",
    "List Roles": "ロール", "List Groups": "グループ", "Base Permissions": "権限", "Views/Menus": "画面・メニュー",
    "Permission on Views/Menus": "画面ごとの権限", "User's Statistics": "ユーザー統計", "TwoFactorView": "2段階認証",
}


def expand(pattern: str) -> list[str]:
    """The names a role pattern of app/security/roles.py stands for: '(A|B)$' → [A, B],
    'can_(list|show)$' → [can_list, can_show], '(can_(a|b)|copy)$' → [can_a, can_b, copy]. Alternation
    and groups only (all the roles use); anything else is returned as it is."""
    text = pattern.lstrip("^").rstrip("$")
    if re.search(r"[\\.*+?\[\]{}]", text):
        return [pattern]

    def parse(s: str, i: int) -> tuple[list[str], int]:
        options, current, j = [], [""], i
        while j < len(s):
            char = s[j]
            if char == "(":
                inner, j = parse(s, j + 1)
                current = [c + x for c in current for x in inner]
            elif char == ")":
                return options + current, j + 1
            elif char == "|":
                options += current
                current = [""]
                j += 1
                continue
            else:
                current = [c + char for c in current]
            if char != "(":
                j += 1
        return options + current, j

    names, _ = parse(text, 0)
    return [n.rstrip("$") for n in names if n]


def _menu_labels() -> dict[str, str]:
    """name → menu label, made once per request (a role page prints hundreds of permissions)."""
    from flask import g

    if "menu_labels" not in g:
        g.menu_labels = _walk_menu()
    return g.menu_labels


def _walk_menu() -> dict[str, str]:
    from app.extensions import appbuilder

    labels: dict[str, str] = {}

    def walk(items):
        for item in items:
            label = str(item.label) if item.label else ""
            if label:
                labels.setdefault(item.name, label)
                if item.baseview is not None:
                    labels.setdefault(item.baseview.class_permission_name, label)
            walk(item.childs or [])

    walk(appbuilder.menu.get_list())
    return labels


def view_label(name: str) -> str:
    labels = _menu_labels() if has_app_context() else {}
    return "・".join(labels.get(n) or VIEWS.get(n) or re.sub(r"View$", "", n) for n in expand(name))


def permission_label(name: str) -> str:
    return "・".join(PERMISSIONS.get(n, n) for n in expand(name))


def permission_view_label(permission_view) -> str:
    """「ETCカード: 一覧」 (the text of a PermissionView on the role and permission screens)."""
    return f"{view_label(permission_view.view_menu.name)}: {permission_label(permission_view.permission.name)}"


def install() -> None:
    """Every PermissionView reads as Japanese wherever FAB prints one (role form, role list)."""
    from flask_appbuilder.security.sqla.models import PermissionView, Role

    # Only the text: FAB's checks compare names, never this (Permission and ViewMenu keep theirs).
    PermissionView.__repr__ = PermissionView.__str__ = permission_view_label
    Role.permission_text = _role_permission_text


def _role_permission_text(role) -> str:
    """The role's stored permissions, else its definition in app/security/roles.py (FAB_ROLES)."""
    from app.extensions import appbuilder

    return role_permissions_text(role.permissions or appbuilder.sm.builtin_roles.get(role.name, []))


def role_permissions_text(permissions) -> str:
    """A role's permissions, one per line, in Japanese: PermissionView rows or the [view, permission] pairs
    of app/security/roles.py (FAB shows one or the other for a role defined in FAB_ROLES)."""
    lines = []
    for entry in permissions or []:
        if isinstance(entry, (list, tuple)) and len(entry) == 2:
            lines.append(f"{view_label(str(entry[0]))}: {permission_label(str(entry[1]))}")
        elif hasattr(entry, "view_menu") and hasattr(entry, "permission"):
            lines.append(permission_view_label(entry))
        else:
            lines.append(str(entry))
    return "\n".join(lines)
