"""Satisfaction, leads and delivery marts (docs/METRICS.md: Satisfaction, Growth and delivery)
on one small hand-made data set, answers computed by hand. One dbt build (module fixture),
reporting time zone UTC, as_of_date = 2024-04-30: every row dated after it is cut.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.dbt_harness import build_marts, query

CUSTOMERS = """
customer_id,created_at,name,segment
c1,2023-01-01,Acme,smb
c2,2023-01-01,Globex,enterprise
"""

USERS = """
user_id,customer_id,signed_up_at
u_ent,c2,2023-06-01
"""

SURVEY_RESPONSES = """
response_id,survey,responded_at,score,customer_id,user_id
# January NPS, every score 0-10 once: promoters 9,10; passives 7,8; detractors 0-6
# segments: smb = customer c1 (0, 9, 10); enterprise = user u_ent's customer c2 (1, 7, 8);
# unknown = neither (2, 3, 4, 5, 6)
n00,nps,2024-01-05,0,c1,
n01,nps,2024-01-05,1,,u_ent
n02,nps,2024-01-06,2,,
n03,nps,2024-01-06,3,,
n04,nps,2024-01-07,4,,
n05,nps,2024-01-07,5,,
n06,nps,2024-01-08,6,,
n07,nps,2024-01-08,7,,u_ent
n08,nps,2024-01-09,8,,u_ent
n09,nps,2024-01-09,9,c1,
n10,nps,2024-01-31 23:59:59,10,c1,
# February: no NPS response. March: one promoter, one detractor. April: none.
n20,nps,2024-03-03,10,c1,
n21,nps,2024-03-04,6,c1,
n30,nps,2024-05-03,10,c1,
# CSAT: January 5, 4, 3, 1; March 2
s01,csat,2024-01-10,5,c1,
s02,csat,2024-01-11,4,c1,
s03,csat,2024-01-12,3,c2,
s04,csat,2024-01-13,1,c2,
s05,csat,2024-03-10,2,c1,
"""

LEADS = """
lead_id,created_at,channel,is_qualified,customer_id,converted_at
l01,2024-01-03,ads,true,c1,2024-02-10
l02,2024-01-10,ads,false,,
l03,2024-01-20,seo,true,c2,2024-05-15
# no lead in February
l04,2024-03-01,ads,,,
l05,2024-03-05,seo,true,c3,2024-03-20
l06,2024-03-10,,true,,
l07,2024-03-31 23:30:00,ads,true,,
l08,2024-04-02,seo,true,,
l09,2024-04-15,ads,true,,
l10,2024-04-20,ads,false,,
l11,2024-05-02,ads,true,,
"""

RELEASES = """
release_id,name,planned_at,released_at,product,kind
r1,Core GA,2023-03-10,2023-03-15,core,product
r2,Analytics launch,2024-02-12,2024-02-10,analytics,product
r3,Core dashboards,2024-02-20 10:00:00,2024-02-23 09:00:00,core,feature
r4,Core export,,2024-02-25,core,feature
r5,Core search,2024-04-10,,core,feature
r6,Analytics v2,2024-04-25,2024-05-02,analytics,feature
r7,Core alerts,2024-04-05 12:00:00,2024-04-05 12:00:00,core,feature
"""

INVOICES = """
invoice_id,customer_id,issued_at,amount,currency,status,product
i1,c1,2024-01-15,100,USD,paid,core
i8,c2,2024-01-20,30,USD,paid,analytics
i2,c1,2024-02-15,100,USD,paid,core
i3,c2,2024-02-20,40,USD,paid,analytics
i4,c2,2024-02-21,10,USD,open,analytics
i5,c1,2024-03-15,100,USD,paid,core
i6,c2,2024-03-20,60,USD,paid,analytics
i7,c1,2024-03-25,5,USD,paid,
i9,c1,2024-05-05,100,USD,paid,core
"""

SELECT = (
    "+nps_monthly +nps_by_segment_monthly +csat_monthly +leads_monthly"
    " +lead_conversion_by_channel_monthly +releases_monthly +new_product_revenue_monthly"
)


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    fixtures = {"customers": CUSTOMERS, "users": USERS, "survey_responses": SURVEY_RESPONSES,
                "leads": LEADS, "releases": RELEASES, "invoices": INVOICES}
    return build_marts(tmp_path_factory, "growth", fixtures, ["build", "--select", SELECT],
                       {"as_of_date": "2024-04-30"})


# --- NPS and CSAT --------------------------------------------------------------------

def test_nps_with_every_score_once(wh: Path) -> None:
    got = query(wh, "select * from marts.nps_monthly where month = date '2024-01-01'")
    # 11 responses: promoters 2 (9, 10), passives 2 (7, 8), detractors 7 (0..6)
    assert got == [(date(2024, 1, 1), 11, 2, 2, 7, 100 * (2 - 7) / 11)]


def test_nps_months_are_continuous_and_empty_months_have_null_nps(wh: Path) -> None:
    got = query(wh, "select * from marts.nps_monthly order by month")
    assert got == [
        (date(2024, 1, 1), 11, 2, 2, 7, 100 * (2 - 7) / 11),
        (date(2024, 2, 1), 0, 0, 0, 0, None),
        (date(2024, 3, 1), 2, 1, 0, 1, 100 * (1 - 1) / 2),
        (date(2024, 4, 1), 0, 0, 0, 0, None),  # the May response is after as_of_date
    ]


def test_nps_by_segment(wh: Path) -> None:
    got = query(
        wh,
        """select segment, responses, promoters, passives, detractors, nps
           from marts.nps_by_segment_monthly where month = date '2024-01-01' order by segment""",
    )
    assert got == [
        ("enterprise", 3, 0, 2, 1, 100 * (0 - 1) / 3),  # via user u_ent's customer c2
        ("smb", 3, 2, 0, 1, 100 * (2 - 1) / 3),
        ("unknown", 5, 0, 0, 5, 100 * (0 - 5) / 5),
    ]
    # 4 months x 3 segments, zero months included
    assert query(wh, "select count(*) from marts.nps_by_segment_monthly") == [(12,)]


def test_csat_is_the_share_scoring_4_or_5(wh: Path) -> None:
    got = query(wh, "select * from marts.csat_monthly order by month")
    assert got == [
        (date(2024, 1, 1), 4, 2, 2 / 4),  # 5, 4 of 5, 4, 3, 1
        (date(2024, 2, 1), 0, 0, None),
        (date(2024, 3, 1), 1, 0, 0 / 1),
        (date(2024, 4, 1), 0, 0, None),
    ]


# --- leads ---------------------------------------------------------------------------

def test_leads_monthly(wh: Path) -> None:
    got = query(wh, "select * from marts.leads_monthly order by month")
    assert got == [
        # 3 leads, 2 qualified; l01 converted, l03 converts after as_of_date -> 1/3; first month
        (date(2024, 1, 1), 3, 2, 1, 1 / 3, None),
        # no leads: rate NULL; velocity 100 * (0 - 2) / 2
        (date(2024, 2, 1), 0, 0, 0, None, 100 * (0 - 2) / 2),
        # 4 qualified (l04 by default); last month 0 -> velocity NULL, not an error
        (date(2024, 3, 1), 4, 4, 1, 1 / 4, None),
        # 3 leads, 2 qualified: 100 * (2 - 4) / 4
        (date(2024, 4, 1), 3, 2, 0, 0 / 3, 100 * (2 - 4) / 4),
    ]


def test_lead_conversion_by_channel(wh: Path) -> None:
    sql = "select * from marts.lead_conversion_by_channel_monthly order by month, channel"
    got = query(wh, sql)
    assert got == [
        (date(2024, 1, 1), "ads", 2, 1, 1, 1 / 2),
        (date(2024, 1, 1), "seo", 1, 1, 0, 0 / 1),
        (date(2024, 3, 1), "ads", 2, 2, 0, 0 / 2),
        (date(2024, 3, 1), "seo", 1, 1, 1, 1 / 1),
        (date(2024, 3, 1), "unknown", 1, 1, 0, 0 / 1),
        (date(2024, 4, 1), "ads", 2, 1, 0, 0 / 2),
        (date(2024, 4, 1), "seo", 1, 1, 0, 0 / 1),
    ]


# --- releases and new product revenue ------------------------------------------------

def test_releases_monthly(wh: Path) -> None:
    got = query(
        wh,
        """select month, releases_shipped, releases_with_plan, on_time_releases, late_releases,
                  on_time_share, mean_days_late
           from marts.releases_monthly order by month""",
    )
    # Mar 2023 (r1) .. Apr 2024: 14 months
    assert len(got) == 14
    # r1: planned Mar 10, released Mar 15 -> late, 5 days
    assert got[0] == (date(2023, 3, 1), 1, 1, 0, 1, 0 / 1, 5 / 1)
    # a month without releases
    assert got[1] == (date(2023, 4, 1), 0, 0, 0, 0, None, None)
    # r2 early (0 days late), r3 late Feb 20 -> Feb 23 (3 days), r4 without a plan
    assert got[11] == (date(2024, 2, 1), 3, 2, 1, 1, 1 / 2, (0 + 3) / 2)
    # r7 released exactly when planned: on time; r5 not shipped; r6 after as_of_date
    assert got[13] == (date(2024, 4, 1), 1, 1, 1, 0, 1 / 1, 0 / 1)


def test_new_product_revenue(wh: Path) -> None:
    got = query(wh, "select * from marts.new_product_revenue_monthly order by month")
    # core first released Mar 2023 (new through Feb 2024), analytics Feb 2024; open invoice
    # i4 and the May invoice do not count
    assert got == [
        # core 100 is new; analytics 30 precedes its first release
        (date(2024, 1, 1), 130.0, 100.0, 100 / 130),
        # core 100 (Feb 2024 is the 12th month from Mar 2023) + analytics 40
        (date(2024, 2, 1), 140.0, 140.0, 140 / 140),
        # core no longer new; analytics 60; 5 without a product
        (date(2024, 3, 1), 165.0, 60.0, 60 / 165),
        (date(2024, 4, 1), 0.0, 0.0, None),
    ]
