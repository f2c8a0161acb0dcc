def test_admin_sees_member_list_in_japanese(admin_client):
    page = admin_client.get("/memberview/list/")
    assert page.status_code == 200
    assert "組合員一覧" in page.get_data(as_text=True)
