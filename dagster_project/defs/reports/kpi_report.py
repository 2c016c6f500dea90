"""The KPI report asset: downstream of publish, it draws the published marts into one HTML
file beside the serving database, and shows the same pictures in the Dagster UI.

What the UI renders (checked on dagster-webserver 1.13): markdown metadata goes through
react-markdown with rehype-sanitize, whose config allows ``data:`` image sources, so an SVG
as ``![](data:image/svg+xml;base64,...)`` is drawn; a markdown value under 1,000 characters
is shown inline on the asset page, a longer one behind "[Show Markdown]"; numeric metadata
is plotted across materializations (the asset's "Plots" tab). So: small tables inline,
charts as markdown images, headline numbers as floats. Each mart a chart reads gets an
``AssetObservation`` carrying its charts, so the lineage view shows what each mart says.
"""

import base64
import re
from collections.abc import Mapping

import dagster as dg

from dagster_project.defs.publish.assets import PUBLISH_KEY
from dagster_project.reports import fmt
from dagster_project.reports.charts import static_svg
from dagster_project.reports.kpi_report import Report, write_report
from dagster_project.reports.sections.scorecard import STATUS_LABEL
from dagster_project.settings import Settings, metric_vars

KPI_REPORT_KEY = dg.AssetKey(["serving", "kpi_report"])
MD_INLINE_LIMIT = 1000  # the UI shows shorter markdown inline, longer behind a button


def svg_image(svg: str, alt: str) -> str:
    """Markdown for an SVG as an inline image (a data URI: no file, no server needed).

    Tooltips, class names and accessibility attributes mean nothing inside an <img>: they
    are dropped, which makes the image about half as large in the event log."""
    lean = re.sub(r' (class|role|aria-[a-z]+|preserveAspectRatio)="[^"]*"', "",
                  re.sub(r"<title>.*?</title>", "", svg))
    data = base64.b64encode(lean.encode("utf-8")).decode("ascii")
    return f"![{alt}](data:image/svg+xml;base64,{data})"


def headline_markdown(report: Report) -> str:
    rows = [f"| {t.label} | **{t.value}** | {t.delta or ''} | {t.when} |" for t in report.tiles]
    return "| KPI | value | change | when |\n|---|---|---|---|\n" + "\n".join(rows)


def scorecard_markdown(report: Report) -> str:
    counts = report.scorecard_counts
    if not counts:
        return "No KPI targets (seeds/kpi_targets.csv)."
    text = " · ".join(f"{n} {STATUS_LABEL[k].lower()}" for k, n in counts.items() if n)
    off = report.off_track
    if off:
        text += "\n\nOff track: " + ", ".join(off)
    return text


def report_metadata(report: Report, settings: Settings) -> dict[str, object]:
    drawn = [p for p in report.panels if p.has_chart]
    meta: dict[str, object] = {
        "report": dg.MetadataValue.path(str(settings.report_path)),
        "charts_drawn": len(drawn),
        "charts_without_data": dg.MetadataValue.md(
            "\n".join(
                f"- {p.title}: {p.empty or p.error}" for p in report.panels if not p.has_chart
            )
            or "none"
        ),
        "as_of_date": str(report.as_of) if report.as_of else "unknown",
        "headline": dg.MetadataValue.md(headline_markdown(report)),
        "scorecard": dg.MetadataValue.md(scorecard_markdown(report)),
    }
    for tile in report.tiles:
        if tile.key == "mrr" and tile.spark:
            image = svg_image(static_svg(tile.spark), "MRR, last 12 months")
            if len(image) < MD_INLINE_LIMIT:  # small enough to show inline on the asset page
                meta["mrr_last_12_months"] = dg.MetadataValue.md(image)
    for key, value in report.headline_values.items():
        if not fmt.is_missing(value):
            meta[key] = dg.MetadataValue.float(float(value))
    for panel in report.panels:
        if panel.key in ("mrr", "mrr-bridge") and panel.has_chart:
            meta[f"chart_{panel.key.replace('-', '_')}"] = dg.MetadataValue.md(
                f"**{panel.title}**: {panel.units}\n\n"
                + "\n\n".join(svg_image(static_svg(s), panel.title) for s in panel.svgs)
            )
    return meta


def mart_observations(report: Report) -> Mapping[str, dict[str, object]]:
    """Per mart that a chart reads, its key chart (the first one drawn from it) as an image,
    and the titles of its other charts; the scorecard as text. One image per mart keeps the
    event log small (the whole set is in the report file)."""
    out: dict[str, dict[str, object]] = {}
    for panel in report.panels:
        for mart in panel.sources:
            meta = out.setdefault(mart, {})
            if not panel.has_chart:
                meta.setdefault("no data", [])
                meta["no data"].append(f"{panel.title}: {panel.empty or panel.error}")  # type: ignore[union-attr]
                continue
            if "key chart" not in meta:
                body = (
                    "\n\n".join(svg_image(static_svg(svg), panel.title) for svg in panel.svgs)
                    if panel.svgs
                    else scorecard_markdown(report)
                )
                meta["key chart"] = dg.MetadataValue.md(
                    f"**{panel.title}**: {panel.units}\n\n{panel.definition}\n\n{body}"
                )
            else:
                meta.setdefault("more charts in the KPI report", [])
                meta["more charts in the KPI report"].append(  # type: ignore[union-attr]
                    f"{panel.title}: {panel.definition}"
                )
    for meta in out.values():
        for key in ("no data", "more charts in the KPI report"):
            if key in meta:
                meta[key] = dg.MetadataValue.md("\n".join(f"- {line}" for line in meta[key]))  # type: ignore[union-attr]
        meta["report"] = dg.MetadataValue.path(str(report.path)) if report.path else "not written"
    return out


def build_kpi_report_asset(settings: Settings) -> dg.AssetsDefinition:
    params = metric_vars(settings)

    @dg.asset(
        key=KPI_REPORT_KEY,
        group_name="reports",
        deps=[PUBLISH_KEY],
        description=(
            "The KPI report: one self-contained HTML file (Vega-Lite charts as static SVG, "
            "drawn live with tooltips where scripts run; nothing loaded from the network) "
            "beside the serving database, drawn from the published marts after every check "
            "passed; `product-metrics report --open` rebuilds and opens it."
        ),
        kinds={"html", "svg"},
        owners=["team:data-platform"],
    )
    def kpi_report(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        from dagster_project.defs.reports import ahead

        # In a build, the charts were drawn while the checks and the publish ran.
        drawing = ahead.current()
        draft = drawing.take() if drawing is not None else None
        if drawing is not None and drawing.error:
            context.log.info(f"KPI report: drawn now, not ahead ({drawing.error})")
        report = write_report(
            settings.serving_path,
            settings.report_path,
            currency=settings.reporting_currency,
            params=params,
            semantic_manifest=settings.semantic_manifest_path,
            draft=draft,
        )
        for panel in report.failed_panels:
            context.log.warning(f"KPI report: could not draw {panel.title}: {panel.error}")
        for panel in report.empty_panels:
            context.log.info(f"KPI report: no data for {panel.title}: {panel.empty}")
        for mart, meta in mart_observations(report).items():
            context.log_event(
                dg.AssetObservation(asset_key=dg.AssetKey(["marts", mart]), metadata=meta)
            )
        context.log.info(
            f"KPI report written to {settings.report_path}"
            + (" (its charts drawn while the checks and the publish ran)"
               if report.drawn_ahead else ""))
        return dg.MaterializeResult(metadata=report_metadata(report, settings))

    return kpi_report
