"""The scheduled jobs (定期処理, issue 13 item 1), one small module each. Each calls the same service as its
`flask etc …` command; the runner (app/jobs/runner.py) takes the ledger row first and records the outcome.

A job is a JobSpec: its name (stable, in the ledger key and the cron table), the Japanese label, the shipped
schedule and parameters, which period a run covers (app/domain/job_schedule.py) and `run(context)`."""
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class JobSpec:
    name: str
    label: str
    description: str
    cron: str
    period_kind: str
    run: Callable
    params: dict = field(default_factory=dict)
    enabled: bool = False
    param_labels: dict = field(default_factory=dict)  # parameter → what the screen calls it
    # (parameters) → Japanese problems; empty when they are usable
    check_params: Callable[[dict], list[str]] = lambda params: []


def _load() -> dict[str, JobSpec]:
    from . import backup, billing_draft, debit_files, documents, inbox_import, renewals, retention

    modules = (inbox_import, billing_draft, documents, debit_files, renewals, backup, retention)
    return {module.JOB.name: module.JOB for module in modules}


_registry: dict[str, JobSpec] = {}


def jobs() -> dict[str, JobSpec]:
    if not _registry:
        _registry.update(_load())
    return _registry


def job_label(name: str) -> str:
    spec = jobs().get(name)
    return spec.label if spec else name


def int_param(params: dict, key: str, low: int, high: int, label: str, problems: list[str]) -> None:
    value = params.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        problems.append(f"{label}は {low}〜{high} の整数で指定してください（入力: {value}）。")
