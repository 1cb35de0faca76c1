"""The plans catalog: the default plans.toml, quotes as Stripe computes them, and validation."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import stripe

from seatbill.catalog import (
    Catalog,
    CatalogError,
    Interval,
    PlanPrice,
    PriceRef,
    SeatDecrease,
    SeatMode,
    default_catalog_path,
    load_catalog,
    match_stripe_price,
)
from seatbill.pricing import Tier, TiersMode


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(default_catalog_path())


def plan_price(catalog: Catalog, key: str, interval: Interval) -> PlanPrice:
    plan = catalog.get(key)
    assert plan is not None
    price = plan.price(interval)
    assert price is not None
    return price


# --- the default catalog -------------------------------------------------------------------


def test_default_catalog_is_the_repository_plans_toml() -> None:
    path = default_catalog_path()
    assert path == Path(__file__).resolve().parent.parent / "plans.toml"
    assert path.is_file()


def test_default_catalog_lists_three_plans_in_file_order(catalog: Catalog) -> None:
    assert [plan.key for plan in catalog.plans] == ["starter", "pro", "team"]
    assert catalog.get("enterprise") is None
    for plan in catalog.plans:
        assert plan.name and plan.description and plan.features
        assert plan.intervals == (Interval.MONTH, Interval.YEAR)
        for price in plan.prices:
            assert price.currency == "usd"
            assert price.seat.lookup_key == f"seatbill_{plan.key}_seat_{price.interval}"


def test_starter_is_auto_capped_at_five_seats_without_base_price(catalog: Catalog) -> None:
    starter = catalog.get("starter")
    assert starter is not None
    assert starter.seat_mode is SeatMode.AUTO
    assert starter.max_seats == 5
    month = plan_price(catalog, "starter", Interval.MONTH)
    assert month.base is None and month.base_amount is None
    assert month.seat.unit_amount == 400


def test_starter_has_a_fourteen_day_trial_and_the_others_none(catalog: Catalog) -> None:
    trials = {plan.key: plan.trial_days for plan in catalog.plans}
    assert trials == {"starter": 14, "pro": 0, "team": 0}
    starter = catalog.get("starter")
    assert starter is not None and starter.trial_requires_payment_method


def test_a_trial_without_a_card(tmp_path: Path) -> None:
    text = VALID.replace(
        'seat_mode = "auto"',
        'seat_mode = "auto"\ntrial_days = 30\ntrial_requires_payment_method = false',
        1,
    )
    plan = load_catalog(write(tmp_path, text)).get("pro")
    assert plan is not None
    assert (plan.trial_days, plan.trial_requires_payment_method) == (30, False)


def test_team_is_licensed_and_decreases_at_period_end(catalog: Catalog) -> None:
    team = catalog.get("team")
    assert team is not None
    assert team.seat_mode is SeatMode.LICENSED
    assert team.seat_decrease is SeatDecrease.PERIOD_END
    assert team.max_seats is None


def test_auto_plans_always_prorate_seat_decreases(catalog: Catalog) -> None:
    pro = catalog.get("pro")
    assert pro is not None
    assert pro.seat_decrease is SeatDecrease.PRORATE


@pytest.mark.parametrize(
    ("key", "interval", "seats", "total"),
    [
        # starter: $4 a seat a month, $40 a seat a year
        ("starter", Interval.MONTH, 1, 400),
        ("starter", Interval.MONTH, 5, 2000),
        ("starter", Interval.YEAR, 1, 4000),
        ("starter", Interval.YEAR, 5, 20000),
        # pro: $19.99 base, seats 1-3 free, 4-10 at $15, 11+ at $12 (graduated)
        ("pro", Interval.MONTH, 0, 1999),
        ("pro", Interval.MONTH, 1, 1999),
        ("pro", Interval.MONTH, 3, 1999),
        ("pro", Interval.MONTH, 4, 1999 + 1500),
        ("pro", Interval.MONTH, 10, 1999 + 7 * 1500),
        ("pro", Interval.MONTH, 11, 1999 + 7 * 1500 + 1200),
        ("pro", Interval.MONTH, 20, 1999 + 7 * 1500 + 10 * 1200),
        ("pro", Interval.YEAR, 3, 19999),
        ("pro", Interval.YEAR, 4, 19999 + 15000),
        ("pro", Interval.YEAR, 11, 19999 + 7 * 15000 + 12000),
        # team: $10 a seat a month, $100 a seat a year
        ("team", Interval.MONTH, 1, 1000),
        ("team", Interval.MONTH, 25, 25000),
        ("team", Interval.YEAR, 7, 70000),
    ],
)
def test_quotes_for_the_default_plans(
    catalog: Catalog, key: str, interval: Interval, seats: int, total: int
) -> None:
    assert plan_price(catalog, key, interval).quote(seats) == total


def test_pro_quotes_from_the_brief(catalog: Catalog) -> None:
    month = plan_price(catalog, "pro", Interval.MONTH)
    assert month.base_amount == 1999
    assert month.quote(3) == 1999
    assert month.quote(4) == 3499
    assert month.quote(11) == 13699
    assert plan_price(catalog, "pro", Interval.YEAR).quote(4) == 34999


def test_quote_refuses_negative_seats(catalog: Catalog) -> None:
    with pytest.raises(ValueError, match="seats must not be negative"):
        plan_price(catalog, "team", Interval.MONTH).quote(-1)


def test_quote_for_zero_seats_is_the_base_price_only(catalog: Catalog) -> None:
    assert plan_price(catalog, "team", Interval.MONTH).quote(0) == 0
    assert plan_price(catalog, "pro", Interval.YEAR).quote(0) == 19999


def test_interval_lookup_accepts_enum_and_string(catalog: Catalog) -> None:
    pro = catalog.get("pro")
    assert pro is not None
    assert pro.price("year") is pro.price(Interval.YEAR)
    assert pro.price("week") is None


def test_match_price_maps_a_stripe_price_back_to_plan_interval_and_role(catalog: Catalog) -> None:
    match = catalog.match_price(lookup_key="seatbill_pro_base_year")
    assert match is not None
    assert (match.plan.key, match.interval, match.role) == ("pro", Interval.YEAR, "base")
    assert catalog.match_price(price_id="price_unknown", lookup_key="nope") is None


def _price(**fields: object) -> stripe.Price:
    """A Stripe price as the SDK hands it over (fixtures3.json's fields that matter here)."""
    data = {
        "id": "price_x",
        "object": "price",
        "lookup_key": None,
        "metadata": {},
        "recurring": {"interval": "month", "interval_count": 1},
        **fields,
    }
    return stripe.Price.construct_from(data, "sk_test")


def test_a_stripe_price_matches_by_lookup_key_first(catalog: Catalog) -> None:
    price = _price(lookup_key="seatbill_pro_seat_year", metadata={"seatbill_plan": "team"})
    match = match_stripe_price(catalog, price)
    assert match is not None
    assert (match.plan.key, match.interval, match.role) == ("pro", Interval.YEAR, "seat")


def test_a_superseded_price_matches_by_the_metadata_catalog_sync_wrote(catalog: Catalog) -> None:
    metadata = {"seatbill_plan": "pro", "seatbill_role": "seat", "seatbill_interval": "month"}
    match = match_stripe_price(catalog, _price(metadata=metadata))
    assert match is not None
    assert (match.plan.key, match.interval, match.role) == ("pro", Interval.MONTH, "seat")
    assert match.metadata == metadata
    # The same price as JSON (a webhook's items.data[].price) matches the same way.
    assert match_stripe_price(catalog, _price(metadata=metadata).to_dict()) == match


def test_prices_from_older_syncs_say_role_and_the_interval_comes_from_the_price(
    catalog: Catalog,
) -> None:
    legacy = _price(
        metadata={"seatbill_plan": "team", "role": "seat"},
        recurring={"interval": "year", "interval_count": 1},
    )
    match = match_stripe_price(catalog, legacy)
    assert match is not None
    assert (match.plan.key, match.interval, match.role) == ("team", Interval.YEAR, "seat")


@pytest.mark.parametrize(
    "metadata",
    [
        {},
        {"seatbill_plan": "gone", "seatbill_role": "seat", "seatbill_interval": "month"},
        {"seatbill_plan": "pro", "seatbill_role": "addon", "seatbill_interval": "month"},
        {"seatbill_plan": "pro", "seatbill_role": "seat", "seatbill_interval": "week"},
    ],
)
def test_prices_the_catalog_cannot_place_do_not_match(
    catalog: Catalog, metadata: dict[str, str]
) -> None:
    assert match_stripe_price(catalog, _price(metadata=metadata)) is None


# --- worked examples in the style of Stripe's tiered pricing docs --------------------------

FIVE_FOUR_THREE = (  # units 1-5 at $5, 6-10 at $4, 11+ at $3
    Tier(up_to=5, unit_amount=500),
    Tier(up_to=10, unit_amount=400),
    Tier(up_to=None, unit_amount=300),
)
WITH_FLAT = (  # units 1-5: $0 each + $5 flat; 6-10: $4 each + $1 flat; 11+: $3 each
    Tier(up_to=5, unit_amount=0, flat_amount=500),
    Tier(up_to=10, unit_amount=400, flat_amount=100),
    Tier(up_to=None, unit_amount=300),
)
TYPOGRAPHIC = (  # Stripe's docs: fonts 1-5 at $7, 6-10 at $6.50, 11+ at $6
    Tier(up_to=5, unit_amount=700),
    Tier(up_to=10, unit_amount=650),
    Tier(up_to=None, unit_amount=600),
)


def seat_price(tiers: tuple[Tier, ...], mode: TiersMode) -> PlanPrice:
    seat = PriceRef("usd", lookup_key="example", tiers=tiers, tiers_mode=mode)
    return PlanPrice(interval=Interval.MONTH, seat=seat)


@pytest.mark.parametrize(
    ("units", "total"),
    [
        (0, 0),
        (1, 500),
        (5, 5 * 500),
        (6, 5 * 500 + 400),
        (10, 5 * 500 + 5 * 400),
        (12, 5 * 500 + 5 * 400 + 2 * 300),  # 5100
    ],
)
def test_graduated_prices_each_unit_in_its_own_tier(units: int, total: int) -> None:
    assert seat_price(FIVE_FOUR_THREE, "graduated").quote(units) == total


@pytest.mark.parametrize(
    ("units", "total"),
    [
        (0, 0),
        (5, 5 * 500),
        (6, 6 * 400),  # crossing a tier lowers the price of every unit
        (10, 10 * 400),
        (12, 12 * 300),  # 3600
    ],
)
def test_volume_prices_every_unit_at_the_tier_the_total_reaches(units: int, total: int) -> None:
    assert seat_price(FIVE_FOUR_THREE, "volume").quote(units) == total


@pytest.mark.parametrize(
    ("units", "graduated", "volume"),
    [
        (1, 700, 700),
        (5, 3500, 3500),
        (6, 3500 + 650, 6 * 650),  # 4150 / 3900
        (20, 3500 + 5 * 650 + 10 * 600, 20 * 600),  # 12750 / 12000
        (25, 3500 + 5 * 650 + 15 * 600, 25 * 600),  # 15750 / 15000
    ],
)
def test_stripe_typographic_example(units: int, graduated: int, volume: int) -> None:
    assert seat_price(TYPOGRAPHIC, "graduated").quote(units) == graduated
    assert seat_price(TYPOGRAPHIC, "volume").quote(units) == volume


@pytest.mark.parametrize(
    ("units", "total"),
    [
        (3, 500),  # first tier reached: its flat fee only
        (5, 500),
        (7, 500 + 2 * 400 + 100),  # 1400: every tier reached adds its flat fee
        (12, 500 + 5 * 400 + 100 + 2 * 300),  # 3200
    ],
)
def test_graduated_with_flat_amounts(units: int, total: int) -> None:
    assert seat_price(WITH_FLAT, "graduated").quote(units) == total


@pytest.mark.parametrize(
    ("units", "total"),
    [
        (3, 500),  # only the reached tier's flat fee
        (7, 7 * 400 + 100),  # 2900
        (12, 12 * 300),  # 3600: the last tier has no flat fee
    ],
)
def test_volume_with_flat_amounts(units: int, total: int) -> None:
    assert seat_price(WITH_FLAT, "volume").quote(units) == total


def test_base_price_is_added_once_whatever_the_seat_count() -> None:
    price = PlanPrice(
        interval=Interval.YEAR,
        base=PriceRef("eur", price_id="price_base", unit_amount=9900),
        seat=PriceRef("eur", price_id="price_seat", tiers=FIVE_FOUR_THREE, tiers_mode="volume"),
    )
    assert price.currency == "eur"
    assert price.quote(0) == 9900
    assert price.quote(12) == 9900 + 12 * 300


# --- validation ----------------------------------------------------------------------------

VALID = """
[plans.pro]
name = "Pro"
description = "For teams"
features = ["Everything"]
seat_mode = "auto"

[plans.pro.month.base]
lookup_key = "pro_base_month"
currency = "usd"
unit_amount = 1999

[plans.pro.month.seat]
lookup_key = "pro_seat_month"
currency = "usd"
tiers_mode = "graduated"
tiers = [
    { up_to = 3, unit_amount = 0 },
    { up_to = 10, unit_amount = 1500 },
    { up_to = "inf", unit_amount = 1200 },
]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plans.toml"
    path.write_text(textwrap.dedent(text))
    return path


def load_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(CatalogError) as excinfo:
        load_catalog(path)
    assert str(excinfo.value).startswith(f"{path}: ")
    return str(excinfo.value).removeprefix(f"{path}: ")


def test_valid_example_loads(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, VALID))
    assert catalog.get("pro") is not None
    assert load_catalog(str(write(tmp_path, VALID))) == catalog


def test_plan_with_price_id_and_licensed_prorate(tmp_path: Path) -> None:
    catalog = load_catalog(
        write(
            tmp_path,
            """
            [plans.team]
            name = "Team"
            description = ""
            features = []
            seat_mode = "licensed"
            seat_decrease = "prorate"
            max_seats = 1

            [plans.team.year.seat]
            price = "price_1Abc"
            currency = "usd"
            unit_amount = 10000
            """,
        )
    )
    team = catalog.get("team")
    assert team is not None
    assert team.seat_decrease is SeatDecrease.PRORATE
    assert team.price("month") is None
    year = team.price("year")
    assert year is not None
    assert year.seat.price_id == "price_1Abc" and year.seat.reference == "price_1Abc"


# fmt: off
INVALID_CASES = [
    # unknown keys
    ('seat_mode = "auto"', 'seat_mode = "auto"\ncolour = "blue"', "plans.pro.colour: unknown key"),
    ("unit_amount = 1999", "unit_amount = 1999\namount = 1", "plans.pro.month.base.amount: unknown key"),
    ("{ up_to = 3, unit_amount = 0 }", "{ up_to = 3, unit_amount = 0, unit = 1 }", "plans.pro.month.seat.tiers[0].unit: unknown key"),
    ("[plans.pro.month.base]", "[plans.pro.month.extra]\nlookup_key = 'x'\n\n[plans.pro.month.base]", "plans.pro.month.extra: unknown key"),
    # missing fields
    ('name = "Pro"', "", "plans.pro.name: missing required field"),
    ('description = "For teams"', "", "plans.pro.description: missing required field"),
    ('features = ["Everything"]', "", "plans.pro.features: missing required field"),
    ('seat_mode = "auto"', "", "plans.pro.seat_mode: missing required field"),
    ('lookup_key = "pro_base_month"\ncurrency = "usd"', 'lookup_key = "pro_base_month"', "plans.pro.month.base.currency: missing required field"),
    ('tiers_mode = "graduated"', "", "plans.pro.month.seat.tiers_mode: missing required field"),
    ("{ up_to = 10, unit_amount = 1500 }", "{ unit_amount = 1500 }", "plans.pro.month.seat.tiers[1].up_to: missing required field"),
    ("{ up_to = 10, unit_amount = 1500 }", "{ up_to = 10 }", 'plans.pro.month.seat.tiers[1]: needs "unit_amount" or "flat_amount"'),
    # wrong types
    ('name = "Pro"', "name = 1", "plans.pro.name: must be a string, not an integer"),
    ('features = ["Everything"]', 'features = "Everything"', "plans.pro.features: must be an array, not a string"),
    ('features = ["Everything"]', 'features = ["Everything", 2]', "plans.pro.features[1]: must be a string, not an integer"),
    ('seat_mode = "auto"', 'seat_mode = "auto"\nmax_seats = "5"', "plans.pro.max_seats: must be an integer, not a string"),
    ('seat_mode = "auto"', 'seat_mode = "auto"\nmax_seats = true', "plans.pro.max_seats: must be an integer, not a boolean"),
    ("unit_amount = 1999", "unit_amount = 19.99", "plans.pro.month.base.unit_amount: must be an integer amount in minor units (cents), not a float"),
    ("unit_amount = 1999", 'unit_amount = "1999"', "plans.pro.month.base.unit_amount: must be an integer, not a string"),
    ('{ up_to = "inf", unit_amount = 1200 }', '{ up_to = "infinity", unit_amount = 1200 }', 'plans.pro.month.seat.tiers[2].up_to: must be a positive integer or "inf", not "infinity"'),
    (VALID[VALID.index("tiers = [") :].rstrip(), "tiers = 3", "plans.pro.month.seat.tiers: must be an array of tables, not an integer"),
    ('lookup_key = "pro_base_month"', "lookup_key = 7", "plans.pro.month.base.lookup_key: must be a string, not an integer"),
    # negative amounts
    ("unit_amount = 1999", "unit_amount = -1", "plans.pro.month.base.unit_amount: must not be negative"),
    ("{ up_to = 10, unit_amount = 1500 }", "{ up_to = 10, unit_amount = -1500 }", "plans.pro.month.seat.tiers[1].unit_amount: must not be negative"),
    ("{ up_to = 10, unit_amount = 1500 }", "{ up_to = 10, unit_amount = 1500, flat_amount = -5 }", "plans.pro.month.seat.tiers[1].flat_amount: must not be negative"),
    # bad tiers (pricing.validate_tiers)
    ("{ up_to = 10, unit_amount = 1500 }", "{ up_to = 2, unit_amount = 1500 }", "plans.pro.month.seat.tiers[1].up_to: must be greater than 3"),
    ("{ up_to = 3, unit_amount = 0 }", "{ up_to = 0, unit_amount = 0 }", "plans.pro.month.seat.tiers[0].up_to: must be at least 1"),
    ('{ up_to = "inf", unit_amount = 1200 }', "{ up_to = 20, unit_amount = 1200 }", "plans.pro.month.seat.tiers[2].up_to: the last tier must be up_to = inf"),
    ("{ up_to = 10, unit_amount = 1500 }", '{ up_to = "inf", unit_amount = 1500 }', "plans.pro.month.seat.tiers[1].up_to: only the last tier may be up_to = inf"),
    # unknown enum values
    ('seat_mode = "auto"', 'seat_mode = "metered"', 'plans.pro.seat_mode: unknown value "metered" (expected "auto" or "licensed")'),
    ('tiers_mode = "graduated"', 'tiers_mode = "stairstep"', 'plans.pro.month.seat.tiers_mode: unknown value "stairstep" (expected "graduated" or "volume")'),
    ("[plans.pro.month.base]", "[plans.pro.week.seat]\nlookup_key = 'x'\n\n[plans.pro.month.base]", 'plans.pro.week: unknown interval (expected "month" or "year")'),
    ('seat_mode = "auto"', 'seat_mode = "licensed"\nseat_decrease = "never"', 'plans.pro.seat_decrease: unknown value "never" (expected "period_end" or "prorate")'),
    # price reference: exactly one of price / lookup_key
    ('lookup_key = "pro_base_month"', 'lookup_key = "pro_base_month"\nprice = "price_123"', 'plans.pro.month.base: give only one of "price" (a Stripe price id) or "lookup_key"'),
    ('lookup_key = "pro_base_month"', "", 'plans.pro.month.base: give either "price" (a Stripe price id) or "lookup_key"'),
    ('lookup_key = "pro_base_month"', 'price = "pro_base_month"', 'plans.pro.month.base.price: must be a Stripe price id ("price_...")'),
    ('lookup_key = "pro_base_month"', 'lookup_key = "pro_seat_month"', 'plans.pro.month.seat.lookup_key: "pro_seat_month" is already used by plans.pro.month.base'),
    # amounts: exactly one of unit_amount / tiers
    ("unit_amount = 1999", "", 'plans.pro.month.base: give either "unit_amount" or "tiers"'),
    ('tiers_mode = "graduated"', 'tiers_mode = "graduated"\nunit_amount = 5', 'plans.pro.month.seat: give only one of "unit_amount" or "tiers"'),
    ("unit_amount = 1999", 'unit_amount = 1999\ntiers_mode = "volume"', 'plans.pro.month.base.tiers_mode: only applies with "tiers"'),
    # currencies
    ('lookup_key = "pro_base_month"\ncurrency = "usd"', 'lookup_key = "pro_base_month"\ncurrency = "eur"', 'plans.pro.month.base.currency: "eur" differs from the seat price currency "usd"'),
    ('lookup_key = "pro_base_month"\ncurrency = "usd"', 'lookup_key = "pro_base_month"\ncurrency = "USD"', "plans.pro.month.base.currency: must be a lowercase three-letter ISO code"),
    # plan-level rules
    ('seat_mode = "auto"', 'seat_mode = "auto"\nmax_seats = 0', "plans.pro.max_seats: must be at least 1"),
    ('seat_mode = "auto"', 'seat_mode = "auto"\nseat_decrease = "period_end"', 'plans.pro.seat_decrease: only applies to seat_mode "licensed"'),
    ('name = "Pro"', 'name = "  "', "plans.pro.name: must not be empty"),
    ("[plans.pro]", '[plans."Pro Plan"]', 'plans."Pro Plan": plan key must be lowercase'),
    ('seat_mode = "auto"', 'seat_mode = "auto"\ntrial_days = -1', "plans.pro.trial_days: must not be negative"),
    ('seat_mode = "auto"', 'seat_mode = "auto"\ntrial_days = 731', "plans.pro.trial_days: must be at most 730"),
    ('seat_mode = "auto"', 'seat_mode = "auto"\ntrial_days = 7\ntrial_requires_payment_method = "no"', "plans.pro.trial_requires_payment_method: must be a boolean"),
    ('seat_mode = "auto"', 'seat_mode = "auto"\ntrial_requires_payment_method = false', "plans.pro.trial_requires_payment_method: only applies with trial_days"),
]
# fmt: on


@pytest.mark.parametrize(("old", "new", "message"), INVALID_CASES)
def test_invalid_catalog_names_plan_and_field(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in VALID
    assert message in load_error(tmp_path, VALID.replace(old, new, 1))


def test_a_missing_seat_price_is_reported(tmp_path: Path) -> None:
    text = VALID.split("[plans.pro.month.seat]")[0]
    assert "plans.pro.month.seat: missing required field" in load_error(tmp_path, text)


def test_a_plan_without_any_interval_is_refused(tmp_path: Path) -> None:
    text = VALID.split("[plans.pro.month.base]")[0]
    assert load_error(tmp_path, text) == (
        'plans.pro: must define at least one interval ("month" or "year")'
    )


def test_an_empty_catalog_is_refused(tmp_path: Path) -> None:
    assert load_error(tmp_path, "") == "plans: missing required field"
    assert load_error(tmp_path, "plans = {}") == "plans: must define at least one plan"
    assert load_error(tmp_path, 'title = "x"\n' + VALID).startswith("title: unknown key")


def test_a_plan_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    assert load_error(tmp_path, 'plans = { pro = "Pro" }') == (
        "plans.pro: must be a table, not a string"
    )


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    assert load_error(tmp_path, "[plans.pro\n").startswith("invalid TOML: ")
    missing = tmp_path / "nope.toml"
    with pytest.raises(CatalogError, match="cannot read catalog"):
        load_catalog(missing)


def test_catalog_error_carries_field_and_reason(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("{ up_to = 10,", "{ up_to = 3,", 1))
    with pytest.raises(CatalogError) as excinfo:
        load_catalog(path)
    error = excinfo.value
    assert error.field == "plans.pro.month.seat.tiers[1].up_to"
    assert error.reason == "must be greater than 3"
    assert error.source == str(path)
    assert str(error) == f"{path}: plans.pro.month.seat.tiers[1].up_to: must be greater than 3"


def test_price_ref_guards_its_invariants() -> None:
    with pytest.raises(ValueError, match="exactly one of price_id and lookup_key"):
        PriceRef("usd", unit_amount=1)
    with pytest.raises(ValueError, match="exactly one of unit_amount and tiers"):
        PriceRef("usd", lookup_key="k")
    with pytest.raises(ValueError, match="needs tiers_mode"):
        PriceRef("usd", lookup_key="k", tiers=FIVE_FOUR_THREE)
