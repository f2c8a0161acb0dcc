"""銀行・支店マスタ: the zengin-code package (bank and branch codes, names and kana; a monthly snapshot of
zengin-code/source-data). Tollbook reads it in place (app/domain/bank_account.py); refreshing it means
installing a newer package version (`pip install -U zengin-code`, then pin it in requirements.txt) and
running `flask etc update-banks`, which records the version, copies changed bank and branch names into
the accounts that hold them, and lists every account whose bank or branch is no longer in the master
(merged or closed branches: its debits and transfers would be refused until the account is corrected)."""
from dataclasses import dataclass, field

import zengin_code
from sqlalchemy import select

from app.extensions import db
from app.labels import member_term
from app.models import Agency, Member, OperatorSettings, SystemSetting
from app.models.payment import CollectionProfile

from .unit_of_work import transactional

VERSION_KEY = "bank_master_version"


@dataclass
class BankUpdateReport:
    version: str
    previous: str | None
    banks: int
    branches: int
    checked: int = 0
    renamed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def summary(self) -> str:
        since = f"（前回 {self.previous}）" if self.previous and self.previous != self.version else ""
        text = (f"銀行・支店マスタ zengin-code {self.version}{since}: 銀行 {self.banks:,}件, 支店 {self.branches:,}件。"
                f"口座 {self.checked:,}件を確認し、銀行名・支店名を {len(self.renamed):,}件更新しました。")
        if self.missing:
            text += f"\n支店（または銀行）がマスタにない口座が {len(self.missing):,}件あります（統廃合の可能性。口座を直してください）:"
        else:
            text += "支店がなくなった口座はありません。"
        return text


def _holders():
    """(what, row) for every stored account: members, agencies, the operator, collection profiles."""
    term = member_term()
    for member in db.session.scalars(select(Member).where(Member.bank_code.is_not(None)).order_by(Member.code)):
        yield f"{term} {member.code} {member.name}", member
    for agency in db.session.scalars(select(Agency).where(Agency.bank_code.is_not(None)).order_by(Agency.code)):
        yield f"代理店 {agency.code} {agency.name}", agency
    for settings in db.session.scalars(select(OperatorSettings).where(OperatorSettings.bank_code.is_not(None))):
        yield f"運営者 {settings.name}", settings
    for profile in db.session.scalars(select(CollectionProfile).where(CollectionProfile.bank_code.is_not(None))
                                      .order_by(CollectionProfile.code)):
        yield f"収納代行・委託者 {profile.code} {profile.name}", profile


@transactional
def update_banks() -> BankUpdateReport:
    banks = zengin_code.Bank.all
    setting = db.session.get(SystemSetting, VERSION_KEY)
    report = BankUpdateReport(version=zengin_code.__version__, previous=setting.value if setting else None,
                              banks=len(banks), branches=sum(len(b.branches) for b in banks.values()))
    for what, row in _holders():
        report.checked += 1
        bank = banks.get(row.bank_code)
        branch = bank.branches.get(row.branch_code) if bank is not None and row.branch_code else None
        if bank is None or (row.branch_code and branch is None):
            report.missing.append(f"{what}: 銀行 {row.bank_code} {row.bank_name or ''} 支店 {row.branch_code or ''} "
                                  f"{row.branch_name or ''} が zengin-code {report.version} にありません")
            continue
        names = (bank.name, branch.name if branch is not None else row.branch_name)
        if (row.bank_name, row.branch_name) != names:
            report.renamed.append(f"{what}: {row.bank_name} {row.branch_name} → {names[0]} {names[1]}")
            row.bank_name, row.branch_name = names
    if setting is None:
        db.session.add(SystemSetting(key=VERSION_KEY, value=report.version))
    else:
        setting.value = report.version
    return report
