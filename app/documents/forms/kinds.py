"""Which NEXCO form a card event needs, and which official form each of Tollbook's sheets follows.

NEXCO's forms differ between its 12 支社 and are handed out by them (and by cooperatives) as PDF or
Excel files that Tollbook cannot reproduce faithfully (etc-domain.md §4.5). Tollbook therefore
prints 申請内容 sheets: the items the official form asks for, filled from the database, to submit
with or copy onto the form of the contract holder's 支社. Each sheet names the form it follows.
docs/forms.md lists the sources and what is approximated.

For a cooperative the cooperative itself is NEXCO's 契約者 and every member's card is issued under
its contract, so a member's first card (新規発行) is applied for like any further card: with the
追加発行申込書 (the 利用申込書 is for a new contract holder, not a new member).
"""
from dataclasses import dataclass

from app.domain.billable_events import NO_FEE_NOTES
from app.domain.card_lifecycle import ADD, CANCEL, ISSUE, LOSS, REISSUE, RENEWAL, VEHICLE_CHANGE
from app.domain.card_number import CORPORATE

APPLICATION, LOSS_REPORT, REISSUE_APPLICATION, VEHICLE_CHANGE_REPORT, RETURN_REPORT, EXCHANGE_APPLICATION = (
    "application", "loss_report", "reissue_application", "vehicle_change_report", "return_report",
    "exchange_application")


@dataclass(frozen=True)
class FormKind:
    code: str
    title: str  # the sheet's title: what it is, never an official form's name alone
    follows: str  # the official form whose items it carries
    sources: tuple[str, ...]  # where the form and its items are described (docs/forms.md)


FORM_KINDS = {
    APPLICATION: FormKind(
        APPLICATION, "新規・追加発行申込 申請内容", "ETCコーポレートカード追加発行申込書（様式4）",
        ("http://www.kanunkyo.or.jp/market/market_etc_doc.asp", "https://kcs-bca.jp/etc",
         "https://fjbnet.com/fjb2010/etc01.html")),
    LOSS_REPORT: FormKind(
        LOSS_REPORT, "紛失・盗難届 申請内容", "ETCコーポレートカード紛失届",
        ("https://www.firstaccess.co.jp/fa-blog/archives/400", "http://t-hsc.or.jp/kousoku.html")),
    REISSUE_APPLICATION: FormKind(
        REISSUE_APPLICATION, "再発行申込 申請内容", "ETCコーポレートカード再発行申込書",
        ("https://www.firstaccess.co.jp/fa-blog/archives/449",)),
    VEHICLE_CHANGE_REPORT: FormKind(
        VEHICLE_CHANGE_REPORT, "登録車両入替届 申請内容", "登録車両入替届（様式10）",
        ("http://www.kanunkyo.or.jp/market/market_etc_doc.asp", "https://www.firstaccess.co.jp/fa-blog/archives/369",
         "https://kcs-bca.jp/etc")),
    RETURN_REPORT: FormKind(
        RETURN_REPORT, "解約（カード返却）届 申請内容", "ETCコーポレートカード返却届（返却理由: 減車）",
        ("http://www.kanunkyo.or.jp/market/market_etc_doc.asp", "https://www.firstaccess.co.jp/fa-blog/archives/1047")),
    EXCHANGE_APPLICATION: FormKind(
        EXCHANGE_APPLICATION, "更新（有効期限切替）交換申込 申請内容", "ETCコーポレートカード交換申込書",
        ("https://www.firstaccess.co.jp/fa-blog/?p=754",)),
}

_BY_EVENT = {
    ISSUE: APPLICATION, ADD: APPLICATION, LOSS: LOSS_REPORT, REISSUE: REISSUE_APPLICATION,
    VEHICLE_CHANGE: VEHICLE_CHANGE_REPORT, CANCEL: RETURN_REPORT, RENEWAL: EXCHANGE_APPLICATION,
}


@dataclass(frozen=True)
class FormChoice:
    kind: FormKind | None
    reason: str = ""  # why there is no form, in Japanese, when kind is None


def form_for_event(event_kind: str, card_kind: str, note: str | None = None) -> FormChoice:
    """The NEXCO form a card event needs, or why it needs none."""
    if card_kind != CORPORATE:
        return FormChoice(None, "クレジットカードの異動です（手続きはカード会社へ。NEXCOの申請書はありません）")
    if event_kind in (ISSUE, ADD) and (note or "") in NO_FEE_NOTES:
        # 移行・登録のみ / マスタ取込: the card existed before Tollbook recorded it; nothing was applied for.
        return FormChoice(None, "発行済みカードの登録（移行・登録のみ・マスタ取込）で、申込はありません")
    code = _BY_EVENT.get(event_kind)
    if code is None:
        return FormChoice(None, f"異動区分「{event_kind}」に対応する申請書はありません")
    return FormChoice(FORM_KINDS[code])
