"""Money as people and banks read it: exact ``Decimal`` yuan, two places, half-up (四舍五入).

The one place that rounds, formats and words amounts; pages, SMS and e-mail texts, PDFs,
xlsx, CSV and audit entries all go through it, so an amount reads the same everywhere.
Pure Python, like the rest of :mod:`huzhu.rules` (the Django field is
:class:`huzhu.lib.money.MoneyField`).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN = Decimal("0.01")
MAX_DIGITS = 14          # a money column: 999,999,999,999.99 at most
DECIMAL_PLACES = 2
MAX_AMOUNT = Decimal("9999999999999999.99")  # what amount_in_words can spell

DIGITS = "零壹贰叁肆伍陆柒捌玖"
PLACES = ("", "拾", "佰", "仟")
SECTIONS = ("", "万", "亿", "万亿")


def as_decimal(value: object) -> Decimal:
    """``value`` as an exact Decimal: a Decimal, an int or text. A float is refused (it has
    no exact decimal digits); SQLite's sums arrive as text or Decimal here, never float."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError("金额不能是浮点数")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"不是金额：{value!r}") from None
    raise TypeError(f"不是金额：{value!r}")


def to_fen(value: object) -> Decimal:
    """Rounded to the fen, half-up: 1.005 → 1.01, 880.000000 → 880.00."""
    amount = as_decimal(value)
    if not amount.is_finite():
        raise ValueError(f"金额必须是有限的数：{value}")
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


def yuan(value: object, *, grouped: bool = True) -> str:
    """An amount to read: 12,345.60 (``grouped=False``: 12345.60, for files a bank or a
    program reads). ``None`` and empty text read as 0.00."""
    if value is None or value == "":
        value = Decimal(0)
    amount = to_fen(value)
    return f"{amount:,.2f}" if grouped else f"{amount:.2f}"


def percent(numerator: object, denominator: object, places: int = 1) -> Decimal | None:
    """numerator / denominator in percent, half-up to ``places`` (None when the
    denominator is zero). The loss ratio (赔付率) of every page is this function:
    paid 12.25 of 100 premiums reads 12.3."""
    num, den = as_decimal(numerator), as_decimal(denominator)
    if not den:
        return None
    step = Decimal(1).scaleb(-places)
    return (num * 100 / den).quantize(step, rounding=ROUND_HALF_UP)


def loss_ratio(paid: object, premiums: object) -> Decimal | None:
    """赔付率: paid out over premiums (or funds) received, percent to one place, half-up."""
    return percent(paid, premiums, places=1)


def amount_in_words(amount: Decimal) -> str:
    """The amount in Chinese capital numerals (大写金额), as on bank slips and vouchers.

    600.00 → 陆佰元整, 0.05 → 伍分, 1,001.01 → 壹仟零壹元零壹分. Follows the People's
    Bank rules for filling in vouchers (正确填写票据和结算凭证的基本规定): 壹拾 (never a
    bare 拾); one 零 for any run of zeros inside the number; 零 after 元 when the 角 is
    zero and the 分 is not; 整 after 元, none after 分 or 角. Where the rules allow either
    (the 万 or 元 place zero with the next place not), we write no 零:
    1,680.32 → 壹仟陆佰捌拾元叁角贰分.
    """
    if not isinstance(amount, Decimal):
        raise TypeError("金额必须是 Decimal")
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"大写金额只用于非负金额：{amount}")
    if amount > MAX_AMOUNT:  # before quantize, which fails past the context's precision
        raise ValueError(f"金额过大：{amount}")
    fen_total = int(amount.quantize(FEN, rounding=ROUND_HALF_UP) * 100)
    whole, rest = divmod(fen_total, 100)
    jiao, fen = divmod(rest, 10)
    text = _integer_words(whole) + "元" if whole else ""
    if jiao == 0 and fen == 0:
        return (text or "零元") + "整"
    if jiao:
        text += DIGITS[jiao] + "角"
    elif whole:
        text += "零"
    if fen:
        text += DIGITS[fen] + "分"
    return text


def _integer_words(number: int) -> str:
    """A positive integer in capital numerals, by sections of four digits (万, 亿)."""
    sections = []
    while number:
        number, section = divmod(number, 10000)
        sections.append(section)
    words = ""
    zero_pending = False
    for power in range(len(sections) - 1, -1, -1):
        section = sections[power]
        if section == 0:
            zero_pending = bool(words)
            continue
        if words and (zero_pending or section < 1000):
            words += "零"
        words += _section_words(section) + SECTIONS[power]
        zero_pending = False
    return words


def _section_words(section: int) -> str:
    """1 to 9999 without leading 零: 1001 → 壹仟零壹, 10 → 壹拾."""
    words, zero = "", False
    for place in range(3, -1, -1):
        digit = section // 10**place % 10
        if digit == 0:
            zero = bool(words)
            continue
        if zero:
            words += "零"
            zero = False
        words += DIGITS[digit] + PLACES[place]
    return words
