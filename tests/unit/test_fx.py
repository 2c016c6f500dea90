"""One rate table in any base, resolved to any reporting currency; refusals; and money rows
with no rate quarantined (and back once rates land). Figures computed by hand."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from dagster_project.ingest import ingest_source, prepare_warehouse
from dagster_project.ingest.fx import FxSettings, FxTableError, resolve

# A USD-based table: 1 EUR = 1.10 USD, then 1.20; 1 GBP = 1.30 USD, then 1.25.
SEED = """rate_date,base_currency,currency,rate
2024-01-01,USD,EUR,1.10
2024-01-01,USD,GBP,1.30
2024-02-01,USD,EUR,1.20
2024-02-15,USD,GBP,1.25
"""


@pytest.fixture()
def con(file_warehouse: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    prepare_warehouse(file_warehouse)
    return file_warehouse


def _seed(tmp_path: Path, text: str = SEED) -> Path:
    path = tmp_path / "fx_rates.csv"
    path.write_text(text)
    return path


def _resolved(con) -> dict[str, list[tuple[date, float]]]:
    out: dict[str, list[tuple[date, float]]] = {}
    for cur, d, rate in con.execute("select currency, rate_date, rate_to_reporting from "
                                    "raw.fx_rates_to_reporting order by 1, 2").fetchall():
        out.setdefault(cur, []).append((d, rate))
    return out


def _land(tmp_path: Path, files: dict[str, str]) -> Path:
    landing = tmp_path / "landing"
    for name, text in files.items():
        path = landing / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return landing


def test_a_usd_table_serves_usd_and_eur_by_cross_rates(con, tmp_path: Path) -> None:
    seed = _seed(tmp_path)
    resolve(con, FxSettings("USD", seed_path=seed))
    assert _resolved(con) == {
        "EUR": [(date(2024, 1, 1), 1.10), (date(2024, 2, 1), 1.20)],
        "GBP": [(date(2024, 1, 1), 1.30), (date(2024, 2, 15), 1.25)],
        "USD": [(date(1900, 1, 1), 1.0)],
    }
    resolve(con, FxSettings("EUR", seed_path=seed))
    got = _resolved(con)
    # EUR per USD = 1 / (USD per EUR); EUR per GBP = (USD per GBP) / (USD per EUR), each the
    # latest on or before the date: on 2024-02-01 GBP is still 1.30, EUR now 1.20.
    assert got["EUR"] == [(date(1900, 1, 1), 1.0)]
    assert got["USD"] == [(date(2024, 1, 1), 1 / 1.10), (date(2024, 2, 1), 1 / 1.20)]
    assert got["GBP"] == [(date(2024, 1, 1), 1.30 / 1.10), (date(2024, 2, 1), 1.30 / 1.20),
                          (date(2024, 2, 15), 1.25 / 1.20)]


def test_landed_rates_in_another_base_win_their_dates(con, tmp_path: Path) -> None:
    seed = _seed(tmp_path)
    landing = _land(tmp_path, {"fx_rates/ecb.csv": (
        "rate_date,base_currency,currency,rate\n"
        "2024-02-01,EUR,USD,0.80\n"      # 1 USD = 0.80 EUR: the seed's USD rows of this date go
        "2024-02-01,EUR,GBP,1.10\n")})
    fx = FxSettings("GBP", seed_path=seed)
    ingest_source(con, landing, "fx_rates", fx=fx)
    resolve(con, fx)
    got = _resolved(con)
    # On 2024-02-15 (USD base) EUR's latest USD rate is 1.10 of 2024-01-01: the seed's
    # 2024-02-01 rows were set aside for the landed EUR-based ones, on every later day too.
    assert got["EUR"] == [(date(2024, 1, 1), 1.10 / 1.30), (date(2024, 2, 1), 1 / 1.10),
                          (date(2024, 2, 15), 1.10 / 1.25)]
    assert got["USD"] == [(date(2024, 1, 1), 1 / 1.30), (date(2024, 2, 1), 0.80 / 1.10),
                          (date(2024, 2, 15), 1 / 1.25)]


def _refused(con, tmp_path: Path, landed: str, currency: str = "USD") -> str:
    landing = _land(tmp_path, {"fx_rates/rates.csv": landed})
    fx = FxSettings(currency, seed_path=_seed(tmp_path))
    ingest_source(con, landing, "fx_rates", fx=fx)
    with pytest.raises(FxTableError) as info:
        resolve(con, fx)
    return str(info.value)


def test_two_bases_on_one_date_are_refused(con, tmp_path: Path) -> None:
    message = _refused(con, tmp_path, "rate_date,base_currency,currency,rate\n"
                       "2024-03-01,USD,EUR,1.1\n2024-03-01,EUR,GBP,1.2\n"
                       "2024-04-01,USD,EUR,1.1\n2024-04-01,EUR,GBP,1.2\n")
    assert message == ("rates in two base currencies for one date (a rate table has one base "
                       "per date): EUR and USD on 2024-03-01..2024-04-01 (2 dates) in "
                       "fx_rates/rates.csv")


def test_a_base_whose_own_rate_is_not_1_is_refused(con, tmp_path: Path) -> None:
    # The case: rates left in USD terms (no base column) while reporting in EUR.
    message = _refused(con, tmp_path, "rate_date,currency,rate_to_reporting\n"
                       "2024-03-01,USD,1.00\n2024-03-01,EUR,1.08\n", currency="EUR")
    assert message == ("the rate table is not in the base it states (rows without "
                       "base_currency are in terms of the reporting currency): EUR in base EUR "
                       "has rate 1.08 (must be 1) on 2024-03-01 in fx_rates/rates.csv")


def test_a_seed_row_that_breaks_the_rules_is_refused(con, tmp_path: Path) -> None:
    seed = _seed(tmp_path, SEED + "2024-03-01,USD,EUR,-1\n")
    with pytest.raises(FxTableError, match=r"seeds/fx_rates.csv: rows break the landing rules "
                                           r"of fx_rates: line 6: the rate must be positive"):
        resolve(con, FxSettings("USD", seed_path=seed))


INVOICES = """invoice_id,customer_id,issued_at,amount,currency
i1,c1,2024-01-15T10:00:00Z,100,EUR
i2,c1,2023-12-31T10:00:00Z,100,EUR
i3,c1,2024-01-31T23:30:00Z,100,CHF
i4,c1,2023-06-01T00:00:00Z,50,USD
"""


def test_a_money_row_with_no_rate_is_quarantined_and_comes_back(con, tmp_path: Path) -> None:
    seed = _seed(tmp_path)
    fx = FxSettings("USD", seed_path=seed)
    landing = _land(tmp_path, {"invoices/a.csv": INVOICES})
    result = ingest_source(con, landing, "invoices", fx=fx)
    assert (result.landed_rows, result.accepted_rows, result.quarantined_rows) == (4, 2, 2)
    assert con.execute("select file, line, reason from ops.quarantine order by line").fetchall() == [
        ("invoices/a.csv", 3, ("no exchange rate for currency EUR on or before 2023-12-31 (to "
                               "the reporting currency USD; rates: fx_rates and "
                               "seeds/fx_rates.csv)")),
        ("invoices/a.csv", 4, ("no exchange rate for currency CHF on or before 2024-01-31 (to "
                               "the reporting currency USD; rates: fx_rates and "
                               "seeds/fx_rates.csv)")),
    ]
    # Rates for CHF land: the rows they cover come back without a new invoice file.
    (landing / "fx_rates").mkdir()
    (landing / "fx_rates" / "chf.csv").write_text(
        "rate_date,base_currency,currency,rate\n2024-01-20,USD,CHF,1.15\n")
    ingest_source(con, landing, "fx_rates", fx=fx)
    again = ingest_source(con, landing, "invoices", fx=fx)
    assert again.derive_mode == "full"
    assert (again.accepted_rows, again.quarantined_rows) == (3, 1)
    assert con.execute("select invoice_id from raw.invoices order by 1").fetchall() == [
        ("i1",), ("i3",), ("i4",)]


def test_the_row_day_is_taken_in_the_reporting_time_zone(con, tmp_path: Path) -> None:
    """23:30 UTC on 31 January is 1 February in Tokyo: CHF's rate from 1 February applies."""
    seed = _seed(tmp_path, SEED + "2024-02-01,USD,CHF,1.15\n")
    landing = _land(tmp_path, {"invoices/a.csv": INVOICES})
    utc = ingest_source(con, landing, "invoices", fx=FxSettings("USD", seed_path=seed))
    assert utc.quarantined_rows == 2
    tokyo = ingest_source(con, landing, "invoices",
                          fx=FxSettings("USD", "Asia/Tokyo", seed_path=seed))
    assert tokyo.derive_mode == "full" and tokyo.quarantined_rows == 1


def test_a_reporting_currency_the_table_cannot_reach_is_refused(con, tmp_path: Path) -> None:
    seed = _seed(tmp_path)
    landing = _land(tmp_path, {"invoices/a.csv": INVOICES})
    with pytest.raises(FxTableError) as info:
        ingest_source(con, landing, "invoices", fx=FxSettings("JPY", seed_path=seed))
    assert str(info.value) == (
        "invoices: the reporting currency JPY cannot be reached from the rate table, so rows "
        "in CHF, EUR, USD cannot be converted. The table holds: base USD, "
        "2024-01-01..2024-02-15, EUR GBP (the shipped seeds/fx_rates.csv). Land rates that "
        "include JPY (fx_rates/, with base_currency), or set METRICS_REPORTING_CURRENCY to a "
        "currency the table holds.")
    # Only JPY rows: nothing to convert, nothing refused.
    only_jpy = _land(tmp_path / "jpy", {"invoices/a.csv": (
        "invoice_id,customer_id,issued_at,amount,currency\ni9,c1,2024-01-15,100,JPY\n")})
    con2 = duckdb.connect(str(tmp_path / "w2.duckdb"))
    prepare_warehouse(con2)
    assert ingest_source(con2, only_jpy, "invoices",
                         fx=FxSettings("JPY", seed_path=seed)).accepted_rows == 1
    con2.close()


def test_a_refused_table_leaves_the_earlier_resolution(con, tmp_path: Path) -> None:
    seed = _seed(tmp_path)
    fx = FxSettings("USD", seed_path=seed)
    resolve(con, fx)
    before = _resolved(con)
    landing = _land(tmp_path, {"fx_rates/bad.csv": "rate_date,base_currency,currency,rate\n"
                                                   "2024-01-01,EUR,EUR,2\n"})
    ingest_source(con, landing, "fx_rates", fx=fx)
    with pytest.raises(FxTableError):
        resolve(con, fx)
    with pytest.raises(FxTableError):  # and a money source will not go on with it
        ingest_source(con, _land(tmp_path / "m", {"invoices/a.csv": INVOICES}), "invoices", fx=fx)
    assert _resolved(con) == before
