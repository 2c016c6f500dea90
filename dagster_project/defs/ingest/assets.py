"""One ingestion asset per landing source: new files -> landed.<source> -> raw.<source>,
rejected rows -> ops.quarantine, per-file counts -> ops.ingestion_log.

Each asset carries two blocking checks: landed = accepted + quarantined for every file,
and the source's quarantined share stays under ``quarantine_max_share``.
"""


import dagster as dg
from pydantic import Field

from dagster_project.contract import SOURCES
from dagster_project.defs.partitions import daily_partitions
from dagster_project.quality.freshness import judged_update_time, newest_row_time
from dagster_project.resources import WarehouseResource
from dagster_project.settings import Settings

BALANCE_CHECK = "landed_equals_accepted_plus_quarantined"
SHARE_CHECK = "quarantine_share_under_threshold"
READABLE_CHECK = "every_file_readable"
IMMUTABLE_CHECK = "landed_files_unchanged"
# The large sources: partitioned by day, like the facts built from them.
PARTITIONED_SOURCES = ("product_events",)
FX_KEY = dg.AssetKey(["raw", "fx_rates_to_reporting"])


def fx_settings(settings: Settings):
    from dagster_project.ingest.fx import FxSettings

    return FxSettings(settings.reporting_currency, settings.reporting_timezone)


def _column_schema(source: str) -> dg.TableSchema:
    src = SOURCES[source]
    cols = [
        dg.TableColumn(
            c.name,
            c.sql_type,
            description=("required" if c.required else "optional")
            + (f"; one of {', '.join(c.enum)}" if c.enum else "")
            + ("; personal data" if c.personal else ""),
        )
        for c in src.columns
    ]
    cols += [
        dg.TableColumn("_file", "VARCHAR", description="landing file, relative to the landing dir"),
        dg.TableColumn("_line", "BIGINT", description="line (CSV/JSONL) or row (Parquet) in the file"),
        dg.TableColumn("_ingested_at", "TIMESTAMP", description="when the file was ingested (UTC)"),
    ]
    return dg.TableSchema(columns=cols)


class IngestConfig(dg.Config):
    """Run config of an ingestion asset."""

    full_refresh: bool = Field(
        default=False,
        description="Derive raw rows, quarantine and log counts from every landed row again "
        "(otherwise only what the new files can change).",
    )


def _ingestion_asset(source: str, settings: Settings) -> dg.AssetsDefinition:
    key = dg.AssetKey(["raw", source])
    partitioned = source in PARTITIONED_SOURCES
    description = (
        f"{SOURCES[source].description} Accepted rows of the files landed in "
        f"<landing>/{source}/, typed per the data contract; rejected rows go to ops.quarantine."
    )
    if partitioned:
        description += (
            " Partitioned by day, like the facts built from it (a run covers the newest "
            "day and the look-back); every run ingests every new file whatever day it holds, "
            "re-derives only what new files can change, and logs the events it touched in "
            "incremental.changed_product_events for the incremental models downstream."
        )

    @dg.asset(
        key=key,
        group_name="ingestion",
        description=description,
        kinds={"duckdb", "python"},
        owners=["team:data-platform"],
        pool="duckdb",
        partitions_def=daily_partitions(settings) if partitioned else None,
        backfill_policy=dg.BackfillPolicy.single_run() if partitioned else None,
        # Money rows are judged against the rates resolved to the reporting currency.
        deps=[FX_KEY] if SOURCES[source].fx_date else None,
        metadata={"dagster/column_schema": _column_schema(source), "landing_folder": source,
                  "dagster/table_name": f"raw.{source}"},
        check_specs=[
            dg.AssetCheckSpec(BALANCE_CHECK, asset=key, blocking=True,
                              description="Every file: landed rows = accepted + quarantined."),
            dg.AssetCheckSpec(SHARE_CHECK, asset=key, blocking=True,
                              description="Quarantined share of landed rows <= quarantine_max_share."),
            dg.AssetCheckSpec(READABLE_CHECK, asset=key, blocking=True,
                              description="No landing file that cannot be read at all (a warning "
                              "instead with METRICS_ALLOW_UNREADABLE_FILES=true)."),
            dg.AssetCheckSpec(IMMUTABLE_CHECK, asset=key, blocking=False,
                              description="Warns when a landed file changed in place (its rows "
                              "are replaced) or a copy of a landed file was skipped; both are "
                              "kept in ops.file_history."),
        ],
    )
    def ingest(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
               config: IngestConfig):
        from dagster_project.ingest import ingest_source, prepare_warehouse
        with warehouse.connect() as con:
            prepare_warehouse(con)
            result = ingest_source(con, settings.landing_dir, source,
                                   rederive=config.full_refresh, fx=fx_settings(settings))
            unbalanced = con.execute(
                "select file, landed_rows, accepted_rows, quarantined_rows from ops.ingestion_log "
                "where source = ? and landed_rows <> accepted_rows + quarantined_rows",
                [source],
            ).fetchall()
            newest = newest_row_time(con, source)
        for message in result.messages[:20]:
            context.log.warning(message)
        freshness = {}
        if newest is not None:
            # The data's own time, which Dagster's freshness check of the source judges
            # (against the end of the as-of day for a build as of an earlier day).
            freshness = {"dagster/last_updated_timestamp": dg.MetadataValue.timestamp(
                             judged_update_time(newest, settings.as_of_date)),
                         "newest_row_time": str(newest)}
            if settings.as_of_date:
                freshness["freshness_judged_as_of"] = settings.as_of_date
        yield dg.MaterializeResult(
            metadata={**result.to_metadata(), "dagster/row_count": result.accepted_rows,
                      **freshness}
        )
        yield dg.AssetCheckResult(
            check_name=BALANCE_CHECK,
            passed=not unbalanced,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"unbalanced_files": [u[0] for u in unbalanced][:20]},
            description=(
                "every file balances" if not unbalanced
                else f"{len(unbalanced)} file(s) do not balance, e.g. {unbalanced[0]}"
            ),
        )
        yield _readable_check(source, result.unreadable, settings.allow_unreadable_files)
        yield _unchanged_check(source, result.replaced, result.copies)
        share = result.quarantined_rows / result.landed_rows if result.landed_rows else 0.0
        limit = settings.quarantine_max_share
        yield dg.AssetCheckResult(
            check_name=SHARE_CHECK,
            passed=share <= limit,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "quarantined_rows": result.quarantined_rows,
                "landed_rows": result.landed_rows,
                "quarantined_share": share,
                "threshold": limit,
                "sample": "\n".join(result.quarantine_sample[:5]),
            },
            description=(
                f"{source}: {result.quarantined_rows} of {result.landed_rows} landed rows "
                f"quarantined ({share:.2%}; limit {limit:.2%})"
                + (
                    f"; e.g. {result.quarantine_sample[0]}"
                    if share > limit and result.quarantine_sample
                    else ""
                )
            ),
        )

    return ingest


def _readable_check(source: str, unreadable: list[tuple[str, int, str]],
                    allowed: bool) -> dg.AssetCheckResult:
    """A file that cannot be read is not a row: it is named with its size, and it blocks
    publishing unless the user allows it (then it is a warning)."""
    listed = "; ".join(f"{name} ({size:,} bytes): {error}" for name, size, error in unreadable[:5])
    more = f"; and {len(unreadable) - 5} more" if len(unreadable) > 5 else ""
    advice = ("published without them (METRICS_ALLOW_UNREADABLE_FILES=true)" if allowed else
              "fix or remove them, or set METRICS_ALLOW_UNREADABLE_FILES=true to publish "
              "without them")
    return dg.AssetCheckResult(
        check_name=READABLE_CHECK,
        passed=not unreadable,
        severity=dg.AssetCheckSeverity.WARN if allowed else dg.AssetCheckSeverity.ERROR,
        metadata={"unreadable_files": [u[0] for u in unreadable][:20],
                  "bytes": sum(u[1] for u in unreadable)},
        description=(f"{source}: every landing file was read" if not unreadable else
                     f"{source}: {len(unreadable)} landing file(s) cannot be read at all and "
                     f"hold no rows: {listed}{more}; {advice}"),
    )


def _unchanged_check(source: str, replaced: list[str],
                     copies: list[tuple[str, str]]) -> dg.AssetCheckResult:
    """Files are meant to be immutable: say so in the build summary when one was not."""
    parts = []
    if replaced:
        parts.append(f"{len(replaced)} file(s) changed in place since they were ingested, their "
                     f"rows replaced: {', '.join(replaced[:5])}")
    if copies:
        parts.append(f"{len(copies)} copy(ies) of ingested files skipped: "
                     + ", ".join(f"{c} (same as {o})" for c, o in copies[:5]))
    return dg.AssetCheckResult(
        check_name=IMMUTABLE_CHECK,
        passed=not parts,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"changed_in_place": replaced[:20], "copies_skipped": [c for c, _ in copies][:20]},
        description=(f"{source}: no landed file changed or landed twice" if not parts else
                     f"{source}: " + "; ".join(parts) + " (earlier versions and copies in "
                     "ops.file_history)"),
    )


def _fx_asset(settings: Settings) -> dg.AssetsDefinition:
    @dg.asset(
        key=FX_KEY,
        deps=[dg.AssetKey(["raw", "fx_rates"])],
        group_name="ingestion",
        description=(
            "Exchange rates to the reporting currency: per currency, the days its rate "
            "changes, derived from the one rate table (landed fx_rates over the shipped "
            "seeds/fx_rates.csv) in whatever base it states, by cross rates through that "
            "base. Fails, and nothing is published, when the table is ambiguous: two bases "
            "on one date, or a base currency whose own rate is not 1."
        ),
        kinds={"duckdb", "python"},
        owners=["team:data-platform"],
        pool="duckdb",
        metadata={"dagster/table_name": "raw.fx_rates_to_reporting"},
    )
    def fx_rates_to_reporting(warehouse: WarehouseResource):
        from dagster_project.ingest import prepare_warehouse
        from dagster_project.ingest.fx import resolve, table_summary

        fx = fx_settings(settings)
        with warehouse.connect() as con:
            prepare_warehouse(con)
            rebuilt = resolve(con, fx)
            rows, currencies = con.execute(
                "select count(*), count(distinct currency) from raw.fx_rates_to_reporting"
            ).fetchall()[0]
            summary = table_summary(con, fx)
        return dg.MaterializeResult(metadata={
            "reporting_currency": fx.currency,
            "rate_table": summary,
            "currencies": int(currencies),
            "dagster/row_count": int(rows),
            "rebuilt": rebuilt,
        })

    return fx_rates_to_reporting


def build_ingestion_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    return [*(_ingestion_asset(source, settings) for source in SOURCES), _fx_asset(settings)]
