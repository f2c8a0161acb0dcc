"""更新予定カード: the corporate cards whose validity ends within N months (the 更新予定カード screen's list,
app/services/nexco_forms.due_card_ids) in the log, and their exchange applications as one PDF
(`flask etc forms --renewal-months N`) in instance/renewals/."""
from pathlib import Path

from flask import current_app

from . import JobSpec, int_param


def check(params: dict) -> list[str]:
    problems: list[str] = []
    int_param(params, "months", 1, 24, "何か月先までか", problems)
    return problems


def run(context):
    from app.domain.card_renewal import renewal_deadline
    from app.domain.clock import today_jst
    from app.models import Card
    from app.extensions import db
    from sqlalchemy.orm import joinedload
    from app.services.nexco_forms import due_card_ids, renewal_forms

    months = int(context.params.get("months", 3))
    deadline = renewal_deadline(today_jst(), months)
    ids = due_card_ids(months)
    context.log(f"有効期限が {deadline:%Y/%m/%d} までのコーポレートカード: {len(ids):,}枚")
    listed = (db.session.query(Card).options(joinedload(Card.member))  # one query, not one per card's member
              .filter(Card.id.in_(ids[:200])).order_by(Card.valid_until, Card.number))
    for card in listed:
        context.log(f"  {card.number} 有効期限 {card.valid_until:%Y/%m/%d} {card.member.code if card.member else ''}")
    batch = renewal_forms(ids)
    for line in batch.skipped:
        context.log(f"対象外: {line}")
    context.count(対象カード=len(ids), 申請書=batch.count, 対象外=len(batch.skipped))
    if not batch.forms:
        context.log("申請書の対象はありません。")
        return
    folder = Path(current_app.instance_path) / "renewals"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"更新申込_{context.period}.pdf"
    partial = path.with_suffix(".pdf.part")
    partial.write_bytes(batch.pdf())
    partial.replace(path)  # whole or nothing
    context.log(f"申請書 {batch.count:,}件を書き出しました: {path}")


JOB = JobSpec(name="renewals", label="カード更新の案内",
              description="有効期限が近いコーポレートカードの一覧と、NEXCO宛ての交換申込書（PDF）を作成します。",
              cron="0 7 1 * *", period_kind="month", run=run,
              param_labels={"months": "何か月先までの期限を対象にするか"},
              params={"months": 3}, check_params=check)
