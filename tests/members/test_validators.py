"""Resident ID numbers (GB 11643), USCCs (GB 32100) and mobile numbers."""

import datetime as dt

import pytest

from huzhu.members.idcard import IdNumberError, make_id_number, parse_id_number
from huzhu.members.phone import PhoneError, parse_mobile
from huzhu.orgs.uscc import UsccError, make_uscc, parse_uscc


@pytest.mark.parametrize(
    ("raw", "birth", "gender"),
    [
        ("11010519491231002X", dt.date(1949, 12, 31), "F"),  # GB 11643's own example
        ("11010519491231002x", dt.date(1949, 12, 31), "F"),  # lowercase x normalised
        ("11010119900307803X", dt.date(1990, 3, 7), "M"),

    ],
)
def test_valid_id_numbers(raw, birth, gender):
    parsed = parse_id_number(raw)
    assert parsed.value == raw.upper()
    assert parsed.birth_date == birth
    assert parsed.gender == gender


def test_abolished_county_code_is_still_valid():
    # 220181 was 九台市, abolished in 2014 when it became a district of Changchun.
    number = make_id_number("220181", dt.date(1975, 2, 28), 123)
    assert parse_id_number(number).gender == "M"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        # The reasons never quote digits of the number (issue 7, finding 11).
        ("110105194912310021", r"^身份证号校验位错误（最后一位与前17位不符），请核对号码$"),
        ("130503670401001", "15位旧身份证号"),
        ("990105194912310021", r"^身份证号前两位（省级地址码）不存在$"),
        ("110105194902300023", r"^身份证号第7至14位（出生日期）不是有效日期$"),
        ("1101051949123100", "应为18位"),
        ("11010519491231002Y", "前17位应为数字"),
        ("", "不能为空"),
    ],
)
def test_invalid_id_numbers(raw, message):
    with pytest.raises(IdNumberError, match=message):
        parse_id_number(raw)


def test_future_birth_date_is_refused():
    number = make_id_number("110101", dt.date(2030, 1, 1), 1)
    with pytest.raises(IdNumberError, match="不合理"):
        parse_id_number(number, today=dt.date(2026, 11, 23))


def test_even_sequence_is_female_odd_is_male():
    assert parse_id_number(make_id_number("220102", dt.date(1980, 1, 1), 2)).gender == "F"
    assert parse_id_number(make_id_number("220102", dt.date(1980, 1, 1), 7)).gender == "M"


@pytest.mark.parametrize(
    "raw", ["91350100M000100Y43", "91110000100010433L", "91110108551385082Q",
            "91440300708461136T"],
)
def test_real_usccs_pass_the_check(raw):
    parsed = parse_uscc(raw.lower())
    assert parsed.value == raw
    assert parsed.check_ok


def test_uscc_with_wrong_check_character_is_a_warning_not_an_error():
    parsed = parse_uscc("911100001000104331")
    assert not parsed.check_ok
    assert parsed.expected_check == "L"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("9111000010001043", "应为18位"),
        ("91110000I0001043OL", "不允许的字符：IO"),
        ("", "不能为空"),
    ],
)
def test_malformed_usccs_are_refused(raw, message):
    with pytest.raises(UsccError, match=message):
        parse_uscc(raw)


def test_make_uscc_round_trips():
    assert parse_uscc(make_uscc("91220101MA0000001")).check_ok


@pytest.mark.parametrize("raw", ["13912345678", "+86 139-1234-5678", "199 1234 5678"])
def test_valid_mobiles(raw):
    assert len(parse_mobile(raw)) == 11


@pytest.mark.parametrize("raw", ["12912345678", "1391234567", "010-12345678", "abc"])
def test_invalid_mobiles(raw):
    with pytest.raises(PhoneError, match="11位"):
        parse_mobile(raw)
