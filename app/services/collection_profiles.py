"""収納代行・委託者 (collection profiles): who debits which members and which 全銀 variant each wants.

`flask etc collection-profiles export FILE` writes every profile as reviewable YAML;
`flask etc collection-profiles import FILE` checks the whole file and then updates the profiles in one transaction (nothing changes when any profile is
wrong), as the tariff does (app/services/tariff.py). A profile left out of the file is deleted unless
members, the operator settings or debit files use it (then the import is refused, naming it).
`flask etc init` creates the profile `default` from the operator settings (ensure_default_profile)."""
from pathlib import Path

import yaml
from sqlalchemy import func, select

from app.domain.errors import DomainError
from app.domain.zengin.profile import FIELDS, check_profile
from app.extensions import db
from app.models import Member, OperatorSettings
from app.models.payment import CollectionProfile, DebitBatch

from .tariff import load_tariff_yaml, TariffImportRefused
from .unit_of_work import transactional

DEFAULT_CODE = "default"


class ProfileImportRefused(DomainError):
    """Nothing was imported; `errors` names every profile that is wrong."""

    def __init__(self, file_name: str, errors: list[str]):
        self.errors = errors
        super().__init__(f"{file_name}: 収納代行・委託者に{len(errors)}件の誤りがあるため取り込みませんでした。")


def profile_as_data(row: CollectionProfile) -> dict:
    data = {field: getattr(row, field) for field in FIELDS}
    return {k: v for k, v in data.items() if v is not None and v != ""}


def apply_profile_values(row: CollectionProfile, values: dict) -> CollectionProfile:
    for key, value in values.items():
        setattr(row, key, value)
    return row


def all_profiles() -> list[CollectionProfile]:
    return db.session.scalars(select(CollectionProfile).order_by(CollectionProfile.code)).all()


def default_profile() -> CollectionProfile | None:
    settings = db.session.query(OperatorSettings).first()
    return settings.default_collection_profile if settings is not None else None


def find_profile(code: str | None) -> CollectionProfile:
    """The profile named `code`; without a code, the only profile there is (else a Japanese refusal)."""
    profiles = all_profiles()
    if code:
        for profile in profiles:
            if profile.code == code:
                return profile
        known = "、".join(p.code for p in profiles) or "（なし）"
        raise DomainError(f"収納代行・委託者「{code}」はありません（あるもの: {known}）。")
    if len(profiles) == 1:
        return profiles[0]
    if not profiles:
        raise DomainError("収納代行・委託者がありません。flask etc init で default を作るか、画面で登録してください。")
    raise DomainError("収納代行・委託者が複数あります。--profile で指定してください（"
                      + "、".join(p.code for p in profiles) + "）。")


def members_using(profile: CollectionProfile) -> int:
    """Members debited by this profile: assigned to it, or to none while it is the default."""
    condition = Member.collection_profile_id == profile.id
    default = default_profile()
    if default is not None and default.id == profile.id:
        condition = condition | Member.collection_profile_id.is_(None)
    return db.session.scalar(select(func.count()).select_from(Member).where(condition)) or 0


def ensure_profile_deletable(profile: CollectionProfile, next_default: str | None = None) -> None:
    """Refused while members, the operator settings (unless `next_default` replaces it) or debit files use it."""
    reasons = []
    assigned = db.session.scalar(select(func.count()).select_from(Member)
                                 .where(Member.collection_profile_id == profile.id))
    if assigned:
        reasons.append(f"組合員 {assigned:,}件に割り当てられています")
    default = default_profile()
    if default is not None and default.id == profile.id and next_default in (None, profile.code):
        reasons.append("運営者設定の既定の収納代行・委託者です")
    if db.session.scalar(select(func.count()).select_from(DebitBatch).where(DebitBatch.profile_id == profile.id)):
        reasons.append("口座振替データを作成済みです")
    if reasons:
        raise DomainError(f"収納代行・委託者「{profile.code}」は削除できません（{'、'.join(reasons)}）。")


@transactional
def ensure_default_profile() -> CollectionProfile:
    """`default`, made from the operator settings (委託者コード・名, 入金口座, 振替日) when there is no profile
    yet, and set as the operator's default. Blank fields of an existing `default` are filled from the
    operator settings (init runs before anyone typed them); nothing typed is overwritten."""
    settings = db.session.query(OperatorSettings).first()
    profile = db.session.scalar(select(CollectionProfile).where(CollectionProfile.code == DEFAULT_CODE))
    if profile is None and db.session.scalar(select(func.count()).select_from(CollectionProfile)):
        return default_profile()  # profiles were set up by hand: leave them alone
    if profile is None:
        profile = CollectionProfile(code=DEFAULT_CODE, name="既定（運営者設定から作成）", kind="bank")
        db.session.add(profile)
    if settings is not None:
        source = {"requester_code": settings.debit_requester_code,
                  "requester_name_kana": settings.debit_requester_name_kana,
                  "bank_code": settings.bank_code, "branch_code": settings.branch_code,
                  "account_type": settings.account_type if settings.account_type in (1, 2, 9) else None,
                  "account_number": settings.account_number, "debit_day": settings.debit_day}
        current = profile_as_data(profile) if profile.id else {"code": DEFAULT_CODE, "name": profile.name}
        blanks = {k: v for k, v in source.items() if v not in (None, "") and not getattr(profile, k, None)}
        if blanks:
            try:
                apply_profile_values(profile, check_profile({**current, **blanks}))
            except DomainError:
                pass  # operator values that do not fit a 全銀 header stay for staff to type on the profile screen
        db.session.flush()
        if settings.default_collection_profile_id is None:
            settings.default_collection_profile_id = profile.id
    db.session.flush()
    return profile


def export_profiles(path: str | Path) -> str:
    profiles = [profile_as_data(row) for row in all_profiles()]
    default = default_profile()
    header = ("# Tollbook 収納代行・委託者（flask etc collection-profiles export で書き出し）。書式は docs/payments.md。\n"
              "# 直したら flask etc collection-profiles import で取り込みます（全件を確認してから一度に更新します）。\n")
    body = yaml.safe_dump({"default": default.code if default else None, "profiles": profiles},
                          allow_unicode=True, sort_keys=False, width=120)
    Path(path).write_text(header + body, encoding="utf-8")
    return f"収納代行・委託者を書き出しました: {path}（{len(profiles)}件）"


def check_profiles_data(data, file_name: str) -> tuple[list[dict], str | None, list[str], set[str]]:
    """(checked profiles, default code, errors, every code the file names — also of wrong profiles)."""
    if not isinstance(data, dict) or not isinstance(data.get("profiles"), list):
        raise ProfileImportRefused(file_name, ["profiles: の下に収納代行・委託者の一覧がありません（docs/payments.md）。"])
    errors, checked, seen, named = [], [], {}, set()
    for position, item in enumerate(data["profiles"], start=1):
        if isinstance(item, dict) and item.get("code"):
            named.add(str(item["code"]).strip())
        if not isinstance(item, dict):
            errors.append(f"{position}件目: 「code: …」「name: …」の形で書いてください。")
            continue
        unknown = sorted(set(item) - set(FIELDS))
        if unknown:
            errors.append(f"{position}件目（{item.get('code', '')}）: 知らない項目があります: {', '.join(map(str, unknown))}")
            continue
        try:
            values = check_profile(item)
        except DomainError as error:
            errors.append(f"{position}件目（{item.get('code', '')}）: {error.message}")
            continue
        if values["code"] in seen:
            errors.append(f"{position}件目: コード「{values['code']}」は{seen[values['code']]}件目と同じです。")
            continue
        seen[values["code"]] = position
        checked.append(values)
    default = data.get("default")
    if default is not None and str(default) not in named:
        errors.append(f"default: 「{default}」はファイルの profiles にありません。")
    return checked, (str(default) if default is not None else None), errors, named


@transactional
def import_profiles(source, file_name: str | None = None) -> str:
    """Update, add and delete profiles as the file says, after checking all of them. `source` is a path
    (CLI) or a binary stream (an upload)."""
    from .uploads import limit, read_capped

    if isinstance(source, (str, Path)):
        file_name = file_name or Path(source).name
    file_name = file_name or "収納代行・委託者"
    try:
        body = read_capped(source, limit("TARIFF_MAX_BYTES"), file_name)
        data = load_tariff_yaml(body, file_name)
    except TariffImportRefused as refused:
        raise ProfileImportRefused(file_name, refused.errors) from None
    except DomainError as error:
        raise ProfileImportRefused(file_name, [error.message]) from None
    checked, default_code, errors, named = check_profiles_data(data, file_name)
    existing = {row.code: row for row in all_profiles()}
    wanted = {values["code"] for values in checked}
    for code, row in existing.items():
        if code not in named:
            try:
                ensure_profile_deletable(row, default_code)
            except DomainError as error:
                errors.append(error.message + " ファイルに残してください。")
    if errors:
        raise ProfileImportRefused(file_name, errors)
    added = updated = 0
    for values in checked:
        row = existing.get(values["code"])
        if row is None:
            row = CollectionProfile()
            db.session.add(row)
            added += 1
        elif {k: getattr(row, k) for k in values} != values:
            updated += 1
        apply_profile_values(row, values)
    removed = [row for code, row in existing.items() if code not in wanted]
    for row in removed:
        db.session.delete(row)
    db.session.flush()
    if default_code is not None:
        settings = db.session.query(OperatorSettings).first()
        settings.default_collection_profile_id = db.session.scalar(
            select(CollectionProfile.id).where(CollectionProfile.code == default_code))
    return (f"{file_name}: 収納代行・委託者を取り込みました（追加 {added}件, 変更 {updated}件, 削除 {len(removed)}件, "
            f"全 {len(checked)}件）。")
