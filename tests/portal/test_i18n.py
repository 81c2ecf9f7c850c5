"""The interface ships in Chinese (default) and English: complete, current, and served."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from portal.app import create_app
from portal.extensions import db

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "portal" / "translations"
POT = TRANSLATIONS / "messages.pot"
# Babel reads the app's "zh_CN" as zh_Hans_CN, and that is the only folder gettext looks in.
ZH = str(Locale.parse("zh_CN"))
LOCALES = (ZH, "en")
# The same keywords as portal/translations/update.sh passes to `pybabel extract`.
KEYWORDS = {**DEFAULT_KEYWORDS, **parse_keywords(["_l", "lazy_gettext"])}
UPDATE = "run portal/translations/update.sh, then translate what is new or fuzzy"


def _po(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def _read(path: Path):
    with path.open("rb") as f:
        return read_po(f) if path.suffix in (".po", ".pot") else read_mo(f)


def _keys(catalog) -> set:
    return {(m.context, m.id) for m in catalog if m.id}


def _extract() -> set:
    with (ROOT / "babel.cfg").open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    found = extract_from_dir(str(ROOT), method_map, options_map, keywords=KEYWORDS)
    return {(context, message) for _file, _line, message, _comments, context in found}


def test_every_chinese_message_is_translated():
    catalog = _read(_po(ZH))
    missing = [m.id for m in catalog if m.id and (m.fuzzy or not all(_strings(m)))]
    assert not missing, f"untranslated or fuzzy in {ZH}: {missing}; {UPDATE}"
    broken = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    assert not broken, f"placeholders differ from the msgid: {broken}"


def test_no_english_entry_carries_a_fuzzy_guess():
    # update.sh guesses a new msgid's text from a similar one and marks it fuzzy; in the
    # English catalogue that guess is another sentence (e.g. "Resolution of the complaint:"
    # for "Answers to campaigns"), shown the day someone clears the flag without reading.
    fuzzy = [m.id for m in _read(_po("en")) if m.id and m.fuzzy]
    assert not fuzzy, f"fuzzy guesses in the English catalogue: {fuzzy}; clear them"


def _strings(message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple) else [message.string]


def test_catalogs_match_the_source():
    source = _extract()
    for path in (POT, _po(ZH), _po("en")):
        catalog = _keys(_read(path))
        new, gone = sorted(map(str, source - catalog)), sorted(map(str, catalog - source))
        assert not new and not gone, f"{path.relative_to(ROOT)}: new {new}, gone {gone}; {UPDATE}"


@pytest.mark.parametrize("locale", LOCALES)
def test_compiled_catalogs_match_the_po_files(locale):
    po = _read(_po(locale))
    mo = _read(_po(locale).with_suffix(".mo"))
    wanted = {m.id: m.string for m in po if m.id and m.string and not m.fuzzy}
    compiled = {m.id: m.string for m in mo if m.id}
    assert compiled == wanted, f"stale {locale} .mo: {UPDATE}"


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("M4S_INSTANCE_PATH", str(tmp_path))
    app = create_app(
        {
            "ENV": "testing",
            "WTF_CSRF_ENABLED": False,
            "SECRET_KEY": "x" * 32,
            "DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}",
        }
    )
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.engine.dispose()


def _html_lang(page: str) -> str:
    return re.search(r'<html lang="([^"]+)"', page).group(1)


def test_landing_page_speaks_chinese_then_english_after_the_switch(make_app):
    zh = {m.id: m.string for m in _read(_po(ZH)) if m.id}
    heading = "Your car, your dealer, in your pocket"
    client = make_app(DEFAULT_LOCALE="zh_CN").test_client()

    for headers in ({"Accept-Language": "zh-CN,zh;q=0.9"}, {}):  # asked for, and the default
        page = client.get("/", headers=headers).get_data(as_text=True)
        assert zh[heading] in page and zh["Log in"] in page
        assert heading not in page

    switched = client.post("/lang", data={"lang": "en", "next": "/"})
    assert switched.status_code == 303

    page = client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert _html_lang(page) == "en"  # the session's choice beats the browser's
    assert heading in page and "Log in" in page
    assert zh[heading] not in page


def test_chinese_pages_declare_their_language(app):
    page = app.test_client().get("/", headers={"Accept-Language": "zh-CN"})
    assert _html_lang(page.get_data(as_text=True)) == "zh-CN"


def test_the_browsers_language_choice():
    from portal.i18n import _browser_choice

    assert _browser_choice("zh-CN,zh;q=0.9,en;q=0.8") == "zh_CN"
    assert _browser_choice("zh") == "zh_CN"
    assert _browser_choice("en-US,en;q=0.9") == "en"
    assert _browser_choice("fr-FR,de;q=0.5") is None  # none of ours: the default applies
    assert _browser_choice("") is None
