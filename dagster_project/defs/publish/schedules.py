"""The nightly schedule and the alert when a run fails."""


import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg

from dagster_project.defs.partitions import daily_partitions, lookback_window, range_tags
from dagster_project.settings import Settings

ALERT_PREFIX = "ALERT product-metrics"


def alert_line(run: dg.DagsterRun, error: str) -> str:
    """One line an on-call person can act on; the hook point for e-mail or chat."""
    first = (error or "unknown error").strip().splitlines()[0][:500]
    return f"{ALERT_PREFIX}: run {run.run_id} of job {run.job_name} failed: {first}"


def nightly_window(scheduled: dt.datetime, settings: Settings) -> tuple[str, str]:
    """The partitions a run scheduled at ``scheduled`` covers: the last complete day in
    the reporting time zone and the ``lookback_days`` days before it."""
    day = scheduled.astimezone(ZoneInfo(settings.reporting_timezone)).date() - dt.timedelta(days=1)
    return lookback_window(day, settings, daily_partitions(settings))


def build_schedules(settings: Settings, job_name: str) -> list[dg.ScheduleDefinition]:
    @dg.schedule(
        name="nightly_build",
        job_name=job_name,
        cron_schedule=settings.schedule_cron,
        execution_timezone=settings.schedule_timezone,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=(
            f"Every night ({settings.schedule_cron}, {settings.schedule_timezone}): one run of "
            f"the last complete day and the {settings.lookback_days} before it (look-back), "
            "plus whatever late events the new files hold. Set METRICS_SCHEDULE_CRON, "
            "METRICS_SCHEDULE_TIMEZONE, METRICS_LOOKBACK_DAYS; run `dagster-daemon run`."
        ),
    )
    def nightly_build(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        window = nightly_window(context.scheduled_execution_time, settings)
        return dg.RunRequest(
            run_key=f"nightly-{window[1]}",
            tags={**range_tags(window), "product-metrics/trigger": "schedule"},
        )

    return [nightly_build]


def build_failure_sensor(settings: Settings) -> dg.SensorDefinition:
    alerts_file = settings.data_dir / "alerts.log"

    @dg.run_failure_sensor(
        name="alert_on_run_failure",
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=f"Logs one alert line per failed run (and appends it to {alerts_file}).",
    )
    def alert_on_run_failure(context: dg.RunFailureSensorContext) -> None:
        line = alert_line(context.dagster_run, context.failure_event.message or "")
        context.log.error(line)
        alerts_file.parent.mkdir(parents=True, exist_ok=True)
        with alerts_file.open("a", encoding="utf-8") as fh:
            fh.write(f"{dt.datetime.now(dt.UTC).isoformat(timespec='seconds')} {line}\n")

    return alert_on_run_failure
