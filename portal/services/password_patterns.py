"""The passwords Chinese owners reach for first: a shipped top list and the rules behind it."""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from importlib.resources import files

# Keyboard and keypad walks: a stretch of one, either way round, is a guess, not a secret.
WALKS = (
    "1234567890",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "abcdefghijklmnopqrstuvwxyz",
    "147258369",
    "789456123",
    "741852963",
    "159357",
    "1qaz2wsx3edc4rfv",
    "qazwsxedcrfv",
)
# Digits read as words: 520 我爱你, 1314 一生一世, 3344 生生世世, 7758 亲亲我吧, 584 我发誓.
LOVE_NUMBERS = re.compile(r"(?:5201314|520|521|1314|3344|7758|584|258)+")
# Letter parts that add no secret to a weak number: pinyin surnames and the phrases the leaks show.
COMMON_WORDS = frozenset(
    """
    woaini aini woaiwojia wo ai iloveyou love qq abc abcd asd qwe zxc mima nihao admin root pass
    password china zhongguo
    wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he gao lin luo zheng liang
    xie song tang han feng deng cao peng zeng xiao tian dong pan yuan cai jiang yu du ye cheng wei
    su lu ding ren shen yao jin fan fang shi xiong meng qin bai hou jia
    """.split()
)


@cache
def top_list() -> frozenset[str]:
    """Return the shipped list of the passwords most used in China (see the data file's sources)."""
    text = files("portal").joinpath("data/common_passwords_zh.txt").read_text(encoding="utf-8")
    lines = (line.strip().lower() for line in text.splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


def _is_walk(text: str) -> bool:
    return len(text) >= 3 and any(text in w or text in w[::-1] for w in WALKS)


def _is_repeat(text: str) -> bool:
    """Return whether the text is a unit of at most four characters said again and again."""
    return any(
        len(text) % n == 0 and len(text) // n >= 2 and text == text[:n] * (len(text) // n)
        for n in range(1, 5)
    )


def _is_run(digits: str) -> bool:
    """Return whether each digit is one more (or one less) than the one before, wrapping 9-0."""
    if len(digits) < 3:
        return False
    steps = {(int(b) - int(a)) % 10 for a, b in zip(digits, digits[1:], strict=False)}
    return steps in ({1}, {9})


def _is_date(digits: str) -> bool:
    """Return whether the digits are a date such as a birthday (YYYYMMDD, YYMMDD, MMDD...)."""
    formats = {8: ("%Y%m%d", "%d%m%Y", "%m%d%Y"), 6: ("%y%m%d",), 4: ("%m%d",)}
    for fmt in formats.get(len(digits), ()):
        try:
            # A leap year stands in for a missing one, so 0229 is a date too.
            day = datetime.strptime(
                "2000" + digits if fmt == "%m%d" else digits, "%Y" * (fmt == "%m%d") + fmt
            )
        except ValueError:
            continue
        if 1900 <= day.year <= 2099:
            return True
    return False


def _weak_digits(digits: str) -> bool:
    return bool(
        _is_repeat(digits)
        or _is_run(digits)
        or _is_walk(digits)
        or _is_date(digits)
        or LOVE_NUMBERS.fullmatch(digits)
        or digits in top_list()
    )


def is_predictable(password: str) -> bool:
    """Return whether the password is on the Chinese top list or built like the ones on it."""
    text = password.lower()
    if text in top_list() or _is_repeat(text) or _is_walk(text):
        return True
    parts = re.fullmatch(r"([a-z]*)(\d*)|(\d+)([a-z]+)", text)
    if not parts:
        return False
    letters = parts.group(1) if parts.group(3) is None else parts.group(4)
    digits = parts.group(2) if parts.group(3) is None else parts.group(3)
    if not digits:
        return letters in COMMON_WORDS
    if not letters:
        return _weak_digits(digits)
    common = letters in COMMON_WORDS or len(letters) <= 2 or _is_walk(letters)
    return common and (len(digits) <= 4 or _weak_digits(digits))
