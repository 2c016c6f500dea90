"""The nightly schedule and the alert when a run fails."""


import datetime as dt

import dagster as dg

from dagster_project.settings import Settings

ALERT_PREFIX = "ALERT product-metrics"


def alert_line(run: dg.DagsterRun, error: str) -> str:
    """One line an on-call person can act on; the hook point for e-mail or chat."""
    first = (error or "unknown error").strip().splitlines()[0][:500]
    return f"{ALERT_PREFIX}: run {run.run_id} of job {run.job_name} failed: {first}"


def build_schedules(settings: Settings, job_name: str) -> list[dg.ScheduleDefinition]:
    nightly = dg.ScheduleDefinition(
        name="nightly_build",
        job_name=job_name,
        cron_schedule=settings.schedule_cron,
        execution_timezone=settings.schedule_timezone,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=(
            f"Full build every night ({settings.schedule_cron}, {settings.schedule_timezone}); "
            "set METRICS_SCHEDULE_CRON / METRICS_SCHEDULE_TIMEZONE, run `dagster-daemon run`."
        ),
    )
    return [nightly]


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
