"""Any reporting currency from one rate table (hand-computed): the same landing built in USD
and in EUR from one USD-based table, and in EUR from a EUR-based table; the refusals exit
non-zero with their message and leave the served file byte-for-byte unchanged; a money row
with no rate is quarantined naming its currency and day."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb
import pytest

from dagster_project.cli import main

CUSTOMERS = """customer_id,created_at,name,segment,region,acquisition_channel
c1,2024-01-01,One,smb,emea,ads
c2,2024-01-01,Two,enterprise,amer,outbound
"""
SUBSCRIPTION_EVENTS = """event_id,subscription_id,customer_id,event_type,effective_at,unit_amount,currency
e1,s1,c1,created,2024-01-10,100,EUR
e2,s2,c2,created,2024-01-20,200,GBP
e3,s2,c2,changed,2024-02-20,300,GBP
"""
INVOICES = """invoice_id,customer_id,issued_at,amount,currency
i1,c1,2024-01-10,100,EUR
i2,c2,2024-01-20,200,GBP
i3,c2,2024-02-20,300,GBP
i4,c1,2024-02-10,50,USD
"""
# 1 EUR = 1.10 USD, then 1.20; 1 GBP = 1.30 USD, then 1.25 (they win over the seed's rates
# of the same days; the seed has no other day in January and February 2024).
USD_BASED = """rate_date,base_currency,currency,rate
2024-01-01,USD,EUR,1.10
2024-01-01,USD,GBP,1.30
2024-02-01,USD,EUR,1.20
2024-02-01,USD,GBP,1.25
"""
# The same rates stated in EUR: 1 USD = 1/1.10 EUR, 1 GBP = 1.30/1.10 EUR, ...
EUR_BASED = """rate_date,base_currency,currency,rate
2024-01-01,EUR,USD,0.909090909090909
2024-01-01,EUR,GBP,1.181818181818182
2024-02-01,EUR,USD,0.833333333333333
2024-02-01,EUR,GBP,1.041666666666667
"""

# By hand. USD: January MRR 100 x 1.10 + 200 x 1.30 = 370; February 110 + 300 x 1.25 = 485
# (MRR keeps the rate of the event that set it), expansion 375 - 260 = 115.
# EUR: 100 + 200 x 1.30 / 1.10 = 336.36; 100 + 300 x 1.25 / 1.20 = 412.50; expansion 76.14.
EXPECTED = {
    "USD": {"2024-01-01": (370.00, 370.00, 0.00), "2024-02-01": (485.00, 0.00, 115.00)},
    "EUR": {"2024-01-01": (336.36, 336.36, 0.00), "2024-02-01": (412.50, 0.00, 76.14)},
}
# Invoices converted on their own day: USD 110, 260, 375, 50; EUR 100, 236.36, 312.50, 41.67.
INVOICE_AMOUNTS = {
    "USD": {"i1": 110.00, "i2": 260.00, "i3": 375.00, "i4": 50.00},
    "EUR": {"i1": 100.00, "i2": 236.36, "i3": 312.50, "i4": 41.67},
}
EUR_PER_USD = {"i1": 1 / 1.10, "i2": 1 / 1.10, "i3": 1 / 1.20, "i4": 1 / 1.20}


def _landing(root: Path, rates: str) -> Path:
    landing = root / "landing"
    for source, text in {"customers": CUSTOMERS, "subscription_events": SUBSCRIPTION_EVENTS,
                         "invoices": INVOICES, "fx_rates": rates}.items():
        (landing / source).mkdir(parents=True, exist_ok=True)
        (landing / source / "a.csv").write_text(text)
    return landing


def _args(root: Path) -> list[str]:
    return ["build", "--quiet", "--landing", str(root / "landing"),
            "--warehouse", str(root / "data" / "warehouse.duckdb"),
            "--serving", str(root / "data" / "serving.duckdb"), "--as-of", "2024-02-29"]


def _build(root: Path, currency: str, monkeypatch, capsys) -> tuple[int, str]:
    monkeypatch.setenv("METRICS_REPORTING_CURRENCY", currency)
    monkeypatch.setenv("METRICS_KPI_REPORT", "false")  # the marts are what these tests read
    code = main(_args(root))
    return code, capsys.readouterr().out


def _query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _figures(root: Path) -> dict[str, tuple[float, float, float]]:
    rows = _query(root / "data" / "serving.duckdb",
                  "select cast(month as varchar), mrr_end, new_mrr, expansion_mrr "
                  "from marts.saas_metrics_monthly order by month")
    return {m: tuple(round(float(v), 2) for v in vals) for m, *vals in rows}


def _invoices(root: Path) -> dict[str, float]:
    return dict(_query(root / "data" / "warehouse.duckdb",
                       "select invoice_id, amount_reporting from staging.stg_billing__invoices"))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def usd_build(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("usd")
    _landing(root, USD_BASED)
    mp = pytest.MonkeyPatch()
    mp.setenv("METRICS_REPORTING_CURRENCY", "USD")
    mp.setenv("METRICS_KPI_REPORT", "false")
    try:
        assert main(_args(root)) == 0
    finally:
        mp.undo()
    assert not (root / "data" / "serving" / "report.html").exists()
    return root


def test_one_usd_table_serves_usd_and_eur_and_a_eur_table_agrees(
        usd_build: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    assert _figures(usd_build) == EXPECTED["USD"]
    usd = _invoices(usd_build)
    assert {k: round(v, 2) for k, v in usd.items()} == INVOICE_AMOUNTS["USD"]

    # The same warehouse switched to EUR by the one setting.
    eur_root = _copy(usd_build, tmp_path)
    code, out = _build(eur_root, "EUR", monkeypatch, capsys)
    assert code == 0, out
    assert _figures(eur_root) == EXPECTED["EUR"]
    eur = _invoices(eur_root)
    assert {k: round(v, 2) for k, v in eur.items()} == INVOICE_AMOUNTS["EUR"]
    # Each row: its USD figure converted at the EUR-per-USD rate of its own day.
    assert all(abs(eur[k] - usd[k] * EUR_PER_USD[k]) < 1e-9 for k in usd)

    based_root = tmp_path / "eur_based"
    _landing(based_root, EUR_BASED)
    code, out = _build(based_root, "EUR", monkeypatch, capsys)
    assert code == 0, out
    assert _figures(based_root) == EXPECTED["EUR"]
    assert {k: round(v, 2) for k, v in _invoices(based_root).items()} == INVOICE_AMOUNTS["EUR"]


def _copy(usd_build: Path, tmp_path: Path) -> Path:
    root = tmp_path / "copy"
    shutil.copytree(usd_build, root)
    return root


@pytest.mark.parametrize(("rates", "currency", "message"), [
    ("rate_date,base_currency,currency,rate\n2024-03-01,USD,EUR,1.1\n2024-03-01,EUR,GBP,1.2\n",
     "USD", ("rates in two base currencies for one date (a rate table has one base per date): "
             "EUR and USD on 2024-03-01 in fx_rates/zz.csv")),
    ("rate_date,base_currency,currency,rate\n2024-03-01,EUR,EUR,1.08\n",
     "USD", "EUR in base EUR has rate 1.08 (must be 1) on 2024-03-01 in fx_rates/zz.csv"),
    ("", "JPY", ("invoices: the reporting currency JPY cannot be reached from the rate table, "
                 "so rows in EUR, GBP, USD cannot be converted")),
])
def test_a_refused_rate_table_publishes_nothing(usd_build: Path, tmp_path: Path, monkeypatch,
                                                capsys, rates: str, currency: str,
                                                message: str) -> None:
    root = _copy(usd_build, tmp_path)
    serving = root / "data" / "serving.duckdb"
    before = _sha(serving)
    if rates:
        (root / "landing" / "fx_rates" / "zz.csv").write_text(rates)
    code, out = _build(root, currency, monkeypatch, capsys)
    assert code != 0
    assert message in out, out
    assert _sha(serving) == before


def test_a_currency_with_no_rate_is_quarantined_by_name_and_day(
        usd_build: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    root = _copy(usd_build, tmp_path)
    (root / "landing" / "invoices" / "zz.csv").write_text(
        "invoice_id,customer_id,issued_at,amount,currency\ni9,c1,2024-02-11,10,XYZ\n")
    monkeypatch.setenv("METRICS_QUARANTINE_MAX_SHARE", "0.5")
    code, out = _build(root, "USD", monkeypatch, capsys)
    assert code == 0, out
    assert _query(root / "data" / "serving.duckdb",
                  "select file, line, reason from ops.quarantine") == [
        ("invoices/zz.csv", 2, ("no exchange rate for currency XYZ on or before 2024-02-11 (to "
                                "the reporting currency USD; rates: fx_rates and "
                                "seeds/fx_rates.csv)"))]
    assert _figures(root) == EXPECTED["USD"]
