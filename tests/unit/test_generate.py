"""The demo-data generator: deterministic, complete, inside the landing contract, coherent."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from dagster_project.contract import SOURCES, typed_select_sql
from dagster_project.errors import MetricsError
from dagster_project.generate import GENERATED_SOURCES, GenerateSummary, generate, land_next_day

TINY = {"customers": 30, "days": 60, "start": date(2024, 1, 1), "seed": 3}
# Long enough for re-landed customers, win-backs, add-ons, late releases and EUR/GBP.
YEAR = {"customers": 300, "days": 365, "start": date(2024, 1, 1), "seed": 11}
LAST_DAY = TINY["start"] + timedelta(days=TINY["days"] - 1)


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    """The one value (first column of the first row) that ``sql`` returns."""
    return con.execute(sql, params).fetchall()[0][0]


def _tree(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerateSummary]:
    out = tmp_path_factory.mktemp("tiny") / "landing"
    return out, generate(out, **TINY)


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("year") / "landing"
    generate(out, **YEAR)
    return out


def _reader(path: Path, columns: list[str]) -> str:
    """SQL reading one landing file as text columns named as in the contract."""
    p = "'" + str(path).replace("'", "''") + "'"
    name = path.name
    if name.endswith((".csv", ".csv.gz")):
        return f"read_csv({p}, all_varchar = true, header = true, hive_partitioning = false)"
    if name.endswith((".jsonl", ".ndjson", ".jsonl.gz")):
        cols = ", ".join(f"'{c}': 'VARCHAR'" for c in columns)
        return f"read_json({p}, format = 'newline_delimited', columns = {{{cols}}})"
    assert name.endswith(".parquet"), name
    return f"read_parquet({p}, hive_partitioning = false)"


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def load_source(con: duckdb.DuckDBPyConnection, landing: Path, source: str,
                bad: bool | None = None) -> str:
    """The files of ``source`` (path order) as a text table ``text_<source>`` with the
    contract's columns and lineage; returns the table name. ``bad``: None = every file,
    True = only ``zz_bad_rows.csv``, False = all but it."""
    cols = SOURCES[source].column_names
    selects = []
    for path in _files(landing / source):
        if bad is not None and (path.name == "zz_bad_rows.csv") != bad:
            continue
        have = {r[0] for r in con.execute(f"describe select * from {_reader(path, cols)}").fetchall()}
        exprs = [f'cast("{c}" as varchar) as "{c}"' if c in have else f'null::varchar as "{c}"'
                 for c in cols]
        rel = path.relative_to(landing).as_posix()
        selects.append(
            f"select {', '.join(exprs)}, '{rel}' as _file, "
            f"row_number() over () as _line, now()::timestamp as _ingested_at "
            f"from {_reader(path, cols)}"
        )
    table = f"text_{source}"
    con.execute(f"create or replace table {table} as " + " union all ".join(selects))
    return table


@pytest.fixture(scope="module")
def db(tiny: tuple[Path, GenerateSummary]) -> duckdb.DuckDBPyConnection:
    landing, _ = tiny
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    for source in GENERATED_SOURCES:
        text = load_source(con, landing, source)
        con.execute(f"create table {source} as {typed_select_sql(source, text)}")
    return con


def test_same_arguments_give_byte_identical_files(tmp_path: Path,
                                                  tiny: tuple[Path, GenerateSummary]) -> None:
    again = tmp_path / "again"
    generate(again, **TINY)
    assert _tree(again) == _tree(tiny[0])


def test_bytes_do_not_depend_on_the_process(tmp_path: Path) -> None:
    # Two processes, two threads each, and a Parquet file of several row groups: where
    # thread timing could change bytes if the writer were not order-preserving.
    code = (
        "import sys; from datetime import date; from pathlib import Path; "
        "from dagster_project.generate import generate; "
        "s = generate(Path(sys.argv[1]), customers=150, days=31, start=date(2024, 1, 1), "
        "seed=5, events_per_user_day=120); print(s.rows['product_events'])"
    )
    root = Path(__file__).resolve().parents[2]
    events = []
    for name in ("a", "b"):
        done = subprocess.run([sys.executable, "-c", code, str(tmp_path / name)], cwd=root,
                              check=True, capture_output=True, text=True)
        events.append(int(done.stdout.strip()))
    assert events[0] > 122_880  # more than one Parquet row group (122,880 rows each)
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")


def test_another_seed_gives_other_data(tmp_path: Path, tiny: tuple[Path, GenerateSummary]) -> None:
    other = tmp_path / "other"
    generate(other, **{**TINY, "seed": TINY["seed"] + 1})
    assert _tree(other) != _tree(tiny[0])


def test_every_source_has_a_folder_with_files(tiny: tuple[Path, GenerateSummary]) -> None:
    landing, summary = tiny
    for source in GENERATED_SOURCES:
        assert _files(landing / source), source
        assert summary.rows[source] > 0, source
        assert summary.files[source] == len(_files(landing / source)), source
    assert set(GENERATED_SOURCES) == set(SOURCES) - {"fx_rates"}


def test_every_landing_format_of_the_contract_is_used(tiny: tuple[Path, GenerateSummary]) -> None:
    names = [p.name for p in _files(tiny[0])]
    for suffix in (".csv", ".csv.gz", ".parquet", ".jsonl.gz"):
        assert any(n.endswith(suffix) for n in names), suffix
    assert any(n.endswith((".jsonl", ".ndjson")) for n in names)


def test_files_sit_in_dt_partitions_of_the_window(tiny: tuple[Path, GenerateSummary]) -> None:
    landing, _ = tiny
    for path in _files(landing):
        parts = path.relative_to(landing).parts
        if parts[0] == "releases":
            continue
        assert parts[1].startswith("dt="), path
        assert date.fromisoformat(parts[1][3:]) <= LAST_DAY


def test_summary_counts_the_rows_duckdb_reads(tiny: tuple[Path, GenerateSummary],
                                              db: duckdb.DuckDBPyConnection) -> None:
    _, summary = tiny
    for source in GENERATED_SOURCES:
        assert scalar(db, f"select count(*) from {source}") == summary.rows[source]
    text = summary.describe()
    assert "product_events" in text and f"{summary.rows['product_events']:,}" in text


def test_every_row_keeps_the_landing_contract(db: duckdb.DuckDBPyConnection) -> None:
    for source in GENERATED_SOURCES:
        broken = db.execute(
            f"select _file, _line, _reason from {source} where _reason is not null limit 5"
        ).fetchall()
        assert broken == [], source


def test_required_columns_are_filled(db: duckdb.DuckDBPyConnection) -> None:
    for source in GENERATED_SOURCES:
        for col in SOURCES[source].required:
            n = scalar(db, f'select count(*) from {source} where "{col}" is null')
            assert n == 0, f"{source}.{col}"


def test_ids_are_unique(db: duckdb.DuckDBPyConnection) -> None:
    for source in GENERATED_SOURCES:
        key = SOURCES[source].key
        if not key or source == "customers":
            continue
        rows, ids = db.execute(
            f"select count(*), count(distinct ({', '.join(key)})) from {source}"
        ).fetchall()[0]
        assert rows == ids, source


def test_enums_are_within_the_contract(db: duckdb.DuckDBPyConnection) -> None:
    for source in GENERATED_SOURCES:
        for col in SOURCES[source].columns:
            if not col.enum:
                continue
            seen = {r[0] for r in db.execute(f'select distinct "{col.name}" from {source}').fetchall()}
            assert seen - {None} <= set(col.enum), f"{source}.{col.name}: {seen}"
    segments = {r[0] for r in db.execute("select distinct segment from customers").fetchall()}
    assert segments <= {"smb", "mid_market", "enterprise"}
    channels = {r[0] for r in db.execute("select distinct acquisition_channel from customers")
                .fetchall()}
    assert channels <= {"organic", "paid_search", "social", "partner", "outbound"}


def test_currencies_are_usd_eur_or_gbp(db: duckdb.DuckDBPyConnection) -> None:
    for source in ("subscription_events", "invoices", "bookings", "marketing_spend"):
        seen = {r[0] for r in db.execute(f"select distinct currency from {source}").fetchall()}
        assert seen <= {"USD", "EUR", "GBP"}, source
    assert scalar(db, "select count(*) from marketing_spend where currency = 'EUR'")


def test_each_customer_pays_in_one_currency(db: duckdb.DuckDBPyConnection) -> None:
    mixed = db.execute(
        """select customer_id from (
               select customer_id, currency from subscription_events
               union select customer_id, currency from invoices
               union select customer_id, currency from bookings)
           group by customer_id having count(distinct currency) > 1"""
    ).fetchall()
    assert mixed == []


def test_every_subscription_belongs_to_one_customer(db: duckdb.DuckDBPyConnection) -> None:
    shared = db.execute(
        "select subscription_id from subscription_events group by 1 "
        "having count(distinct customer_id) > 1"
    ).fetchall()
    assert shared == []
    unknown = scalar(db, "select count(*) from subscription_events where customer_id not in "
                         "(select customer_id from customers)")
    assert unknown == 0


def test_some_cancellation_is_future_dated(db: duckdb.DuckDBPyConnection) -> None:
    n = scalar(db, "select count(*) from subscription_events where event_type = 'canceled' "
                   "and cast(occurred_at as date) <= ? and cast(effective_at as date) > ?",
               [LAST_DAY, LAST_DAY])
    assert n >= 1


def test_subscription_timestamps_mix_offsets_and_occur_by_the_last_day(
        tiny: tuple[Path, GenerateSummary], db: duckdb.DuckDBPyConnection) -> None:
    con = duckdb.connect()
    raw = con.execute(
        f"select effective_at from read_csv('{tiny[0]}/subscription_events/*/*.csv', "
        "all_varchar = true)"
    ).fetchall()
    texts = [r[0] for r in raw]
    assert any(t.endswith("Z") for t in texts)
    assert any(t.endswith("+02:00") for t in texts)
    assert any(t[-1].isdigit() and "+" not in t for t in texts)
    latest = scalar(db, "select max(coalesce(occurred_at, effective_at)) from subscription_events")
    assert latest.date() <= LAST_DAY


def test_invoices_bill_the_subscription_state_in_force(db: duckdb.DuckDBPyConnection) -> None:
    unmatched = db.execute(
        """select i.invoice_id from invoices i
           where i.revenue_type = 'subscription' and not exists (
               select 1 from subscription_events s
               where s.customer_id = i.customer_id and s.currency = i.currency
                 and s.event_type <> 'canceled' and s.effective_at <= i.issued_at
                 and abs(s.unit_amount * s.quantity - s.discount_amount - i.amount) < 0.005)"""
    ).fetchall()
    assert unmatched == []
    assert scalar(db, "select count(*) from invoices where amount <= 0") == 0


def test_bookings_use_the_contract_lengths(db: duckdb.DuckDBPyConnection) -> None:
    months = {r[0] for r in db.execute("select distinct contract_months from bookings").fetchall()}
    assert months <= {1, 3, 12, 24}
    new = scalar(db, "select count(*) from bookings where is_new_business")
    assert new >= 1


def test_users_belong_to_customers_or_to_nobody(db: duckdb.DuckDBPyConnection) -> None:
    orphans = scalar(db, "select count(*) from users where customer_id is not null "
                         "and customer_id not in (select customer_id from customers)")
    assert orphans == 0
    assert scalar(db, "select count(*) from users where customer_id is null") > 0
    bad_mail = scalar(db, "select count(*) from users "
                          "where not regexp_full_match(email, 'user\\d+@example\\.(com|org|net)')")
    assert bad_mail == 0


def test_first_users_sign_up_around_their_customers_creation(
        db: duckdb.DuckDBPyConnection) -> None:
    far = scalar(db, """
        select count(*) from (
            select u.customer_id, min(u.signed_up_at) as first_signup, c.created_at
            from users u join customers c using (customer_id)
            group by u.customer_id, c.created_at)
        where first_signup < created_at or first_signup > created_at + interval 1 day""")
    assert far == 0


def test_every_id_reference_points_at_a_landed_row(db: duckdb.DuckDBPyConnection) -> None:
    for source in ("users", "subscription_events", "invoices", "bookings", "leads",
                   "survey_responses"):
        n = scalar(db, f"select count(*) from {source} where customer_id is not null "
                       "and customer_id not in (select customer_id from customers)")
        assert n == 0, source
    for source in ("product_events", "survey_responses"):
        n = scalar(db, f"select count(*) from {source} where user_id is not null "
                       "and user_id not in (select user_id from users)")
        assert n == 0, source


def test_anonymous_visitors_and_identified_signups(db: duckdb.DuckDBPyConnection) -> None:
    anonymous = scalar(db, "select count(*) from product_events "
                           "where user_id is null and anonymous_id is not null")
    assert anonymous > 0
    unlinked = scalar(db, "select count(*) from product_events where event_name = 'signed_up' "
                          "and (user_id is null or anonymous_id is null)")
    assert unlinked == 0


def test_funnel_and_passive_events_occur(db: duckdb.DuckDBPyConnection) -> None:
    names = {r[0] for r in db.execute("select distinct event_name from product_events").fetchall()}
    assert {"page_view", "signed_up", "activated", "project_created", "invite_sent",
            "email_opened", "report_viewed"} <= names


def test_properties_are_json_objects(db: duckdb.DuckDBPyConnection) -> None:
    kinds = {r[0] for r in db.execute(
        "select distinct json_type(properties::json) from product_events").fetchall()}
    assert kinds == {"OBJECT"}


def test_some_events_land_in_a_later_partition(db: duckdb.DuckDBPyConnection) -> None:
    late = scalar(db, """
        select count(*) from product_events
        where cast(occurred_at as date) < cast(regexp_extract(_file, 'dt=([0-9-]+)', 1) as date)
          and date_trunc('month', occurred_at)
              < cast(regexp_extract(_file, 'dt=([0-9-]+)', 1) as date)""")
    assert late > 0


def test_event_volume_follows_the_benchmark_density(tiny: tuple[Path, GenerateSummary]) -> None:
    expected = 1000 * TINY["customers"] * TINY["days"] / 730
    assert 0.7 * expected < tiny[1].rows["product_events"] < 1.3 * expected


def test_events_per_user_day_sets_the_volume(tmp_path: Path,
                                             tiny: tuple[Path, GenerateSummary]) -> None:
    busy = generate(tmp_path / "busy", **TINY, events_per_user_day=20.0)
    assert busy.rows["product_events"] > 2 * tiny[1].rows["product_events"]
    assert busy.rows["customers"] == tiny[1].rows["customers"]


def test_converted_leads_name_their_customer_at_its_creation(
        db: duckdb.DuckDBPyConnection) -> None:
    off = scalar(db, """
        select count(*) from leads l left join customers c using (customer_id)
        where l.customer_id is not null
          and (c.customer_id is null or l.converted_at <> c.created_at
               or l.created_at > l.converted_at)""")
    assert off == 0
    won, customers = db.execute(
        "select count(customer_id), (select count(distinct customer_id) from customers) from leads"
    ).fetchall()[0]
    assert won == customers


def test_survey_answers_carry_scores_and_some_comments(db: duckdb.DuckDBPyConnection) -> None:
    surveys = {r[0] for r in db.execute("select distinct survey from survey_responses").fetchall()}
    assert surveys == {"nps", "csat"}
    assert scalar(db, "select count(comment) from survey_responses") > 0


def test_year_relands_customers_later_with_changed_attributes(year: Path) -> None:
    con = duckdb.connect()
    load_source(con, year, "customers")
    changed = scalar(con, """
        with r as (select *, row_number() over () as pos from text_customers)
        select count(*) from r a join r b using (customer_id)
        where a._file < b._file
          and (a.segment, a.sales_rep_id, a.name) is distinct from
              (b.segment, b.sales_rep_id, b.name)""")
    assert changed > 0


def test_year_has_winbacks_add_ons_and_seat_changes(year: Path) -> None:
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"create table s as {typed_select_sql('subscription_events', load_source(con, year, 'subscription_events'))}")
    # A second `created` for a customer after a cancellation: a reactivation.
    winbacks = scalar(con, """
        select count(*) from s c join s x using (customer_id)
        where c.event_type = 'created' and x.event_type = 'canceled'
          and c.effective_at > x.effective_at""")
    assert winbacks > 0
    assert scalar(con, "select count(*) from s where plan_id like 'analytics%'")
    ups, downs = con.execute(
        """with q as (select quantity, lag(quantity) over (partition by subscription_id
                       order by effective_at) as before from s where event_type <> 'canceled')
           select count(*) filter (where quantity > before),
                  count(*) filter (where quantity < before) from q"""
    ).fetchall()[0]
    assert ups > 0 and downs > 0
    currencies = {r[0] for r in con.execute("select distinct currency from s").fetchall()}
    assert currencies == {"USD", "EUR", "GBP"}
    discounted = scalar(con, "select count(*) from s where discount_amount > 0")
    assert discounted > 0


def test_year_releases_are_late_early_or_pending(year: Path) -> None:
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"create table r as {typed_select_sql('releases', load_source(con, year, 'releases'))}")
    late, early, pending, products = con.execute(
        """select count(*) filter (where released_at::date > planned_at::date),
                  count(*) filter (where released_at::date < planned_at::date),
                  count(*) filter (where released_at is null),
                  count(*) filter (where kind = 'product') from r"""
    ).fetchall()[0]
    assert late and early and pending and products


def test_bad_rows_are_separate_and_break_the_contract(tmp_path: Path) -> None:
    out = tmp_path / "bad"
    summary = generate(out, **TINY, bad_rows=True)
    assert set(summary.bad_rows) == set(GENERATED_SOURCES)
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    for source in GENERATED_SOURCES:
        bad = out / source / "zz_bad_rows.csv"
        assert bad.is_file() and _files(out / source)[-1] == bad  # lands last
        good = load_source(con, out, source, bad=False)
        good_ids = set()
        if SOURCES[source].key:
            key = SOURCES[source].key[0]
            good_ids = {r[0] for r in con.execute(f'select "{key}" from {good}').fetchall()}
        text = load_source(con, out, source, bad=True)
        key = SOURCES[source].key[0] if SOURCES[source].key else "null"
        rows = con.execute(
            f"select {key}, _reason from ({typed_select_sql(source, text)})"
        ).fetchall()
        notes = [r[0] for r in con.execute(f"select note from read_csv('{bad}')").fetchall()]
        assert len(rows) == len(notes) == summary.bad_rows[source]
        for (row_id, reason), note in zip(rows, notes, strict=True):
            if note == "conflicting duplicate id":  # parses, but clashes with a good row
                assert reason is None and row_id in good_ids, (source, row_id)
            elif note == "subscription of another customer":  # a cross-row rule
                assert reason is None
            else:
                assert reason is not None, (source, note)


def test_land_next_day_adds_the_next_day_without_touching_the_window(tmp_path: Path) -> None:
    out = tmp_path / "landing"
    generate(out, **TINY)
    before = _tree(out)
    nightly = land_next_day(out, **TINY)
    after = _tree(out)
    assert {k: v for k, v in after.items() if k in before} == before
    new = sorted(set(after) - set(before))
    next_day = (TINY["start"] + timedelta(days=TINY["days"])).isoformat()
    assert new and all(f"/dt={next_day}/" in k for k in new)
    assert nightly.rows["product_events"] > 0
    con = duckdb.connect()
    load_source(con, out, "product_events")
    rows, ids = con.execute("select count(*), count(distinct event_id) from text_product_events"
                            ).fetchall()[0]
    assert rows == ids
    # The same call again writes the same bytes: landing it twice changes nothing.
    land_next_day(out, **TINY)
    assert _tree(out) == after


def test_generate_replaces_its_own_folders_only(tmp_path: Path) -> None:
    out = tmp_path / "landing"
    generate(out, **{**TINY, "days": 60})
    (out / "fx_rates").mkdir()
    (out / "fx_rates" / "mine.csv").write_text("rate_date,currency,rate_to_reporting\n")
    generate(out, **{**TINY, "days": 20})
    assert (out / "fx_rates" / "mine.csv").is_file()
    months = {p.parent.name for p in (out / "product_events").rglob("*.parquet")}
    assert months == {"dt=2024-01-01"}


@pytest.mark.parametrize("bad", [{"customers": 0}, {"days": 0}, {"start": date(2019, 6, 1)},
                                 {"start": date(2028, 12, 1)}])
def test_generate_refuses_arguments_it_cannot_honour(tmp_path: Path, bad: dict) -> None:
    with pytest.raises(MetricsError):
        generate(tmp_path / "x", **{**TINY, **bad})
