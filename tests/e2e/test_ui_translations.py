"""Every text of the web UI has a Chinese translation, and the compiled catalogues are in use."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = ROOT / "webui" / "translations"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None, "N_": None}


def _texts_in_sources() -> set[str]:
    with open(ROOT / "babel.cfg", encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _catalogue(lang: str):
    with open(CATALOGUES / lang / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=lang)


def test_every_ui_text_has_a_chinese_translation() -> None:
    catalogue = _catalogue("zh")
    translated = {m.id for m in catalogue if m.id and m.string and "fuzzy" not in m.flags}
    missing = sorted(_texts_in_sources() - translated)
    assert not missing, f"run `make translations-update` and translate in webui/translations/zh: {missing}"


def test_the_english_catalogue_lists_the_same_texts() -> None:
    chinese = {m.id for m in _catalogue("zh") if m.id}
    english = {m.id for m in _catalogue("en") if m.id}
    assert chinese == english and len(chinese) > 150


def test_the_compiled_catalogues_are_newer_than_their_sources() -> None:
    for lang in ("zh", "en"):
        po = CATALOGUES / lang / "LC_MESSAGES" / "messages.po"
        mo = po.with_suffix(".mo")
        assert mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime, f"run `make assets` to compile {po}"
