"""定期処理の設定 (issue 13 item 1): the scheduled_job rows — when each job runs (cron, Japan time), whether,
and with which parameters. The jobs themselves are code (app/jobs/scheduled/); a row per job is added by
`ensure_scheduled_jobs` (flask etc init, the scheduler's start, the CLI) for any job a new version brings."""
from dataclasses import dataclass

from sqlalchemy import select

from app.domain.clock import now_jst
from app.domain.errors import DomainError
from app.domain.job_schedule import normalize_cron
from app.domain.text import number_text
from app.extensions import db
from app.models.job import ScheduledJob

from .bulk import insert_if_absent
from .unit_of_work import transactional


def _specs():
    from app.jobs.scheduled import jobs

    return jobs()


def spec_of(name: str):
    spec = _specs().get(name)
    if spec is None:
        known = "、".join(_specs())
        raise DomainError(f"定期処理「{name}」はありません（あるもの: {known}）。")
    return spec


@transactional
def ensure_scheduled_jobs() -> int:
    """A row for every job without one (shipped schedule and parameters). Returns how many were added."""
    session = db.session
    added = 0
    for spec in _specs().values():
        result = session.execute(insert_if_absent(
            session.connection(), ScheduledJob.__table__, ["name"], name=spec.name, cron=spec.cron,
            enabled=spec.enabled, params=dict(spec.params), updated_at=now_jst()))
        added += result.rowcount or 0
    return added


@dataclass(frozen=True)
class JobSettings:
    name: str
    cron: str
    enabled: bool
    params: dict
    changed_at: object = None


def settings_of(name: str) -> JobSettings:
    """The job's row merged over its shipped parameters (a parameter added later has its default)."""
    spec = spec_of(name)
    row = db.session.scalar(select(ScheduledJob).where(ScheduledJob.name == name))
    if row is None:
        return JobSettings(name, spec.cron, spec.enabled, dict(spec.params))
    return JobSettings(name, row.cron, row.enabled, {**spec.params, **(row.params or {})}, row.updated_at)


def all_settings() -> list[JobSettings]:
    return [settings_of(name) for name in _specs()]


def parse_params(name: str, values: dict) -> dict:
    """Parameters as typed on the screen (text per parameter), converted to the type of the shipped value
    and checked by the job; a Japanese refusal naming the parameter otherwise."""
    spec = spec_of(name)
    params = {}
    for key, default in spec.params.items():
        label = spec.param_labels.get(key, key)
        raw = values.get(key, default)
        if isinstance(default, bool):
            params[key] = raw in (True, "1", "on", "true", "y")
        elif isinstance(default, int):
            text = number_text(raw)
            try:
                params[key] = int(text)
            except ValueError:
                raise DomainError(f"{label}「{raw}」は整数で入力してください。", key) from None
        else:
            params[key] = str(raw or "").strip()
    problems = spec.check_params(params)
    if problems:
        raise DomainError(" ".join(problems), "params")
    return params


@transactional
def update_job(row: ScheduledJob, cron: str, enabled: bool, params) -> ScheduledJob:
    """Check everything first; nothing is changed unless all of it is usable."""
    cron = normalize_cron(cron)
    params = parse_params(row.name, params)
    row.cron, row.enabled, row.params = cron, bool(enabled), params
    return row
