"""Argument filling: spoken values found in the user's words and shaped like the schema."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtnb.engine.brain.extract import (
    ask_for,
    fill_arguments,
    find_bool,
    find_date,
    find_email,
    find_ids,
    find_last4,
    find_phone,
    find_zip,
    format_date,
    format_phone,
    match_enum,
    param_kind,
    split_identifier,
    stem,
    values_for,
    words_of,
)

CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


@pytest.mark.parametrize("text", [
    "my number is 415 555 0134 thanks",
    "call me at four one five, five five five, zero one three four",
    "it's (415) 555-0134",
])
def test_phone_numbers_typed_or_spoken(text):
    assert find_phone(text) == "4155550134"


def test_a_phone_number_takes_the_schema_pattern():
    assert format_phone("4155550134", r"^\(\d{3}\) \d{3}-\d{4}$") == "(415) 555-0134"


@pytest.mark.parametrize("text", ["it is jane dot doe at example dot com",
                                  "jane.doe@example.com please"])
def test_emails_typed_or_spoken(text):
    assert find_email(text) == "jane.doe@example.com"


def test_dates_are_read_and_written_in_the_described_format():
    born = find_date("I was born on March 3rd 1990")
    assert born == date(1990, 3, 3)
    assert format_date(born, None, "Format 'YYYY-MM-DD'.") == "1990-03-03"


def test_short_codes():
    assert find_last4("the last four are 1234") == "1234"
    assert find_zip("my zip code is 94107") == "94107"
    assert find_ids("my order number is AB-1234", ("order",)) == ["AB-1234"]
    assert (find_bool("yes please"), find_bool("no thanks"), find_bool("maybe")) == (
        True, False, None)


def test_identifiers_split_into_words_and_words_into_stems():
    assert split_identifier("getNextResponseFromSupervisor") == [
        "get", "next", "response", "from", "supervisor"]
    assert split_identifier("transfer_to_billing") == ["transfer", "to", "billing"]
    assert stem("returns") == stem("returning") == "return"
    assert words_of("What's the weather in Paris?") == ["what's", "the", "weather", "in",
                                                        "paris"]


def test_parameter_kinds_come_from_the_name_and_schema():
    assert param_kind("city", {"type": "string"}) == "city"
    assert param_kind("phone_number", {"type": "string"}) == "phone"
    assert param_kind("category", {"type": "string", "enum": ["a", "b"]}) == "enum"
    assert match_enum(["snowboard", "apparel", "boots"], "any boots on sale?") == "boots"


def test_a_missing_required_argument_is_asked_for():
    args, missing = fill_arguments(CITY, ["what is the weather like"])
    assert args == {} and missing == ("city", {"type": "string"})
    assert ask_for(*missing) == "Which city?"
    args, missing = fill_arguments(CITY, ["weather in Paris please"])
    assert args == {"city": "Paris"} and missing is None


def test_an_earlier_message_or_call_fills_what_the_last_one_lacks():
    args, missing = fill_arguments(CITY, ["and tomorrow?", "weather in Rome"])
    assert args == {"city": "Rome"} and missing is None
    args, missing = fill_arguments(CITY, ["and tomorrow?"], prior=[{"city": "Oslo"}])
    assert args == {"city": "Oslo"} and missing is None


def test_several_values_for_one_parameter():
    assert values_for("city", {"type": "string"}, "weather in Paris and Rome") == [
        "Paris", "Rome"]


@settings(deadline=None, max_examples=60)  # no timing: the machine may be loaded
@given(st.text(max_size=80))
def test_finders_never_raise_on_any_text(text):
    for find in (find_phone, find_email, find_date, find_last4, find_zip, find_bool):
        find(text)
    args, missing = fill_arguments(CITY, [text])
    assert (missing is None) == ("city" in args)
