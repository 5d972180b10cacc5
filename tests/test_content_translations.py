"""Content in five languages: English for everything a visitor reads, Japanese, Korean and
Russian for the places, tracks, industries and source documents; anything untranslated shown
in Chinese and marked so in the page's language; machine translations labelled."""

import re

import pytest

from portal.extensions import db
from portal.models import (
    BatchFigure,
    ChainLeader,
    ChainNode,
    Department,
    FactorCost,
    Industry,
    Opportunity,
    Policy,
    Region,
    ServiceLink,
    Site,
    Topic,
    Track,
)

# What a visitor reads of each record, field by field.
VISITOR_FIELDS = {
    Region: ("name", "short_name", "summary", "profile"),
    Track: ("name", "summary"),
    Industry: ("name", "summary", "profile"),
    ChainNode: ("name", "description", "gap_note"),
    ChainLeader: ("name", "description"),
    Topic: ("name",),
    Policy: ("title", "summary", "interpretation", "procedure", "source_note"),
    Site: ("name", "address", "description"),
    Opportunity: ("title", "summary", "body", "publisher"),
    ServiceLink: ("name", "description", "department", "address", "hours", "portal_label"),
    BatchFigure: ("area", "period", "rate_label", "note", "source"),
    FactorCost: ("item", "unit", "note", "source"),
    Department: ("name",),
}
# Japanese, Korean and Russian: at least these.
OTHER_LANGS = ("ja", "ko", "ru")
CORE_FIELDS = {Region: ("name", "summary"), Track: ("name", "summary"),
               Industry: ("name", "summary")}
SOURCE_DOCUMENTS = [f"seed-00{i}" for i in range(5)]


def _gaps(session, model, fields, lang, where=None):
    stmt = db.select(model)
    if where is not None:
        stmt = stmt.where(where)
    gaps = []
    for record in session.scalars(stmt):
        for name in fields:
            if getattr(record, name, None) and not record.is_translated(name, lang):
                gaps.append(f"{model.__name__} {record.id} {name}")
    return gaps


def test_every_visitor_field_has_english(site_db):
    with site_db() as s:
        gaps = [g for model, fields in VISITOR_FIELDS.items()
                for g in _gaps(s, model, fields, "en")]
    assert not gaps, f"{len(gaps)} untranslated: {gaps[:20]}"


@pytest.mark.parametrize("lang", OTHER_LANGS)
def test_places_tracks_industries_and_source_documents_in_other_languages(site_db, lang):
    with site_db() as s:
        gaps = [g for model, fields in CORE_FIELDS.items() for g in _gaps(s, model, fields, lang)]
        gaps += _gaps(s, Policy, ("title", "summary"), lang,
                      where=Policy.key.in_(SOURCE_DOCUMENTS))
        found = s.scalar(db.select(db.func.count()).select_from(Policy)
                         .where(Policy.key.in_(SOURCE_DOCUMENTS)))
    assert found == 5
    assert not gaps, gaps


def test_translations_carry_their_source_and_date(site_db):
    with site_db() as s:
        datong = s.scalars(db.select(Region).filter_by(slug="datong")).one()
        assert datong.translation_source("ja")[0] == "machine"
        assert datong.translation_source("ja")[1].isoformat() == "2026-12-04"
        assert datong.translation_source("zh") is None
        assert datong.translations["en"]["_source"] in ("human", "machine")


def _policy(site_db, **filters):
    with site_db() as s:
        return s.scalars(db.select(Policy).filter_by(**filters)).first()


def _untranslated_policy(site_db, lang):
    with site_db() as s:
        for policy in s.scalars(db.select(Policy).order_by(Policy.id)):
            if not policy.is_translated("title", lang):
                return policy
    pytest.fail(f"every policy has a {lang} title")


@pytest.mark.parametrize("lang", OTHER_LANGS)
def test_untranslated_content_is_shown_in_chinese_and_marked(site_client, site_db, lang):
    policy = _untranslated_policy(site_db, lang)
    html = site_client.get(f"/{lang}/policies/{policy.id}").get_data(as_text=True)
    marker = re.search(r'<span lang="zh-Hans">([^<]+)</span> <span class="zh-original">'
                       r"([^<]+)</span>", html)
    assert marker and marker.group(1) == policy.title
    assert marker.group(2) != "（中文原文）"  # the marker speaks the page's language
    zh = site_client.get(f"/zh/policies/{policy.id}").get_data(as_text=True)
    assert 'class="zh-original"' not in zh


def test_chinese_text_prevails_note_on_foreign_pages(site_client):
    assert "以中文原文为准" not in site_client.get("/zh/").get_data(as_text=True)
    en = site_client.get("/en/").get_data(as_text=True)
    assert "Chinese" in en and "prevail" in en


def test_machine_translation_is_labelled_with_its_date(site_client, site_db):
    policy = _policy(site_db, key="seed-000")
    html = site_client.get(f"/en/policies/{policy.id}").get_data(as_text=True)
    assert 'class="translation-note"' in html
    assert "2026" in re.search(r'class="translation-note">([^<]+)<', html).group(1)
    assert policy.tr("title", "en") in html


def test_issuer_and_document_number_keep_chinese_with_a_translation_beside(site_client,
                                                                          site_db):
    policy = _policy(site_db, key="seed-000")
    html = site_client.get(f"/en/policies/{policy.id}").get_data(as_text=True)
    assert (f'<span lang="zh-Hans">{policy.issuer}</span> <span class="beside" lang="en">'
            "（Datong Municipal People&#39;s Government）</span>") in html
    assert re.search(rf'<span lang="zh-Hans">{policy.doc_number}</span> '
                     r'<span class="beside" lang="en">（[^<]*Datong[^<]*）</span>', html)
    zh = site_client.get(f"/zh/policies/{policy.id}").get_data(as_text=True)
    assert 'class="beside"' not in zh
    # Korean has its own name; Japanese writes it as the Chinese does, so nothing is repeated
    ko = site_client.get(f"/ko/policies/{policy.id}").get_data(as_text=True)
    assert '<span class="beside" lang="ko">（다퉁시 인민정부）</span>' in ko
    ja = site_client.get(f"/ja/policies/{policy.id}").get_data(as_text=True)
    assert f'<span lang="zh-Hans">{policy.issuer}</span> <span class="beside"' not in ja


def test_policy_body_is_marked_as_the_chinese_original(site_client, site_db):
    policy = _policy(site_db, key="seed-000")
    html = site_client.get(f"/ru/policies/{policy.id}").get_data(as_text=True)
    assert '<section class="policy-body" aria-labelledby="body-title" lang="zh-Hans">' in html
    assert "正文为中文原文" not in html  # the notice itself is in Russian


def test_numbers_dates_and_percentages_follow_the_locale(app):
    from datetime import date

    from flask_babel import force_locale, format_date

    from portal.i18n import format_number, format_percent

    with app.test_request_context("/"):
        seen = {}
        for locale in ("zh_Hans", "en", "ja", "ko", "ru"):
            with force_locale(locale):
                seen[locale] = (format_number(12345.5), format_percent(83.52),
                                format_date(date(2026, 12, 4)))
    assert seen["en"][:2] == ("12,345.5", "83.52%")
    assert seen["ru"][0].replace("\xa0", " ") == "12 345,5" and seen["ru"][1].startswith("83,52")
    assert seen["ja"][2] == "2026/12/04" and seen["en"][2] == "Dec 4, 2026"
    assert seen["ko"][2] == "2026. 12. 4." and "дек" in seen["ru"][2]
