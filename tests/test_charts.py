"""The SVG charts: the table alternative holds every value, bars are proportional, long labels
stay inside the drawing, numbers follow the page's locale, and nothing needs a style= attribute."""

import re
from xml.etree import ElementTree

import pytest
from markupsafe import Markup

from portal.charts import FONT_SIZE, VIEW_WIDTH, bar_chart, column_chart, text_width, wrap
from portal.i18n import format_percent

SVG = "{http://www.w3.org/2000/svg}"

LONG_ZH = "大同经济技术开发区医药工业园区生物医药及高端医疗器械产业集聚发展核心承载区"
LONG_RU = ("Экономико-технологическая зона развития Датуна, фармацевтический промышленный "
           "парк высоких технологий")


def _svg(markup: str) -> ElementTree.Element:
    match = re.search(r"<svg.*</svg>", str(markup), re.S)
    assert match, markup
    return ElementTree.fromstring(match.group(0))  # noqa: S314 (our own markup)


def _table_cells(markup: str) -> list[str]:
    table = re.search(r"<table.*</table>", str(markup), re.S).group(0)
    return [re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", table, re.S)]


@pytest.fixture
def zh(app):
    with app.test_request_context("/zh/"):
        yield


def test_bar_chart_table_holds_every_value_and_bars_are_proportional(zh):
    rows = [{"label": "平城区", "value": 1200}, {"label": "云冈区", "value": 600},
            {"label": "左云县", "value": 150.5, "highlight": True}, {"label": "天镇县",
                                                                    "value": None}]
    markup = bar_chart(rows, caption="工业用地价格", unit="元/平方米", label_header="区县")
    cells = _table_cells(markup)
    for expected in ("平城区", "1,200", "云冈区", "600", "150.5", "天镇县", "—", "区县"):
        assert expected in cells or any(expected in c for c in cells), expected
    assert "（突出显示）" in str(markup)  # highlight said in words, not colour only
    svg = _svg(markup)
    assert svg.get("role") == "img"
    title_id, desc_id = svg.get("aria-labelledby").split()
    assert svg.find(f"{SVG}title").get("id") == title_id
    assert "平城区" in svg.find(f"{SVG}desc").text  # the summary names the largest
    assert svg.find(f"{SVG}desc").get("id") == desc_id
    bars = {float(r.get("data-value")): float(r.get("width")) for r in svg.iter(f"{SVG}rect")}
    assert set(bars) == {1200.0, 600.0, 150.5}  # no bar for the missing value
    assert bars[600.0] == pytest.approx(bars[1200.0] / 2, abs=0.1)
    assert bars[150.5] == pytest.approx(bars[1200.0] * 150.5 / 1200, abs=0.1)
    highlighted = [r for r in svg.iter(f"{SVG}rect") if "chart-highlight" in r.get("class")]
    assert [float(r.get("data-value")) for r in highlighted] == [150.5]
    assert "style=" not in str(markup)


def _assert_inside(svg: ElementTree.Element):
    """Every text's estimated box lies inside the viewBox, at the font size we promise."""
    width = float(svg.get("viewBox").split()[2])
    assert width == VIEW_WIDTH
    for text in svg.iter(f"{SVG}text"):
        assert float(text.get("font-size")) >= FONT_SIZE
        x, extent = float(text.get("x")), text_width(text.text or "")
        anchor = text.get("text-anchor", "start")
        left = {"start": x, "middle": x - extent / 2, "end": x - extent}[anchor]
        assert left >= -0.5 and left + extent <= width + 0.5, (text.text, left, extent)


@pytest.mark.parametrize("label", [LONG_ZH, LONG_RU, "x" * 200])
def test_long_labels_wrap_inside_the_viewbox(zh, label):
    markup = bar_chart([{"label": label, "value": 98765.4321}, {"label": "短", "value": 1}],
                       caption="c")
    svg = _svg(markup)
    _assert_inside(svg)
    lines = [t.text for t in svg.iter(f"{SVG}text") if "chart-label" in t.get("class")]
    assert len(lines) > 2  # the long one wrapped
    assert label in _table_cells(markup)  # the table keeps it whole
    column = column_chart([{"label": label, "value": 5}, {"label": "2024年第一批", "value": 7}],
                          caption="c")
    _assert_inside(_svg(column))


def test_wrap_breaks_at_spaces_and_keeps_punctuation_with_its_word():
    assert wrap("alpha beta gamma", text_width("alpha beta")) == ["alpha beta", "gamma"]
    lines = wrap("签约开工率（投资额），开工项目投产率", text_width("签约开工率（投资额"))
    assert not any(line.startswith(("）", "，")) for line in lines)
    assert "".join(lines) == "签约开工率（投资额），开工项目投产率"
    cut = wrap("很" * 100, 100, max_lines=2)
    assert len(cut) == 2 and cut[-1].endswith("…")


def test_grouped_bars_and_legend(zh):
    rows = [{"label": "2023年", "values": [46, 223.7]}, {"label": "2024年", "values": [50, None]}]
    markup = bar_chart(rows, caption="三个一批", series=["项目数", "总投资"])
    svg = _svg(markup)
    assert [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "chart-legend"] == [
        "项目数", "总投资"]
    cells = _table_cells(markup)
    assert cells[:3] == ["项目", "项目数", "总投资"]
    assert "223.7" in cells and "—" in cells
    _assert_inside(svg)


def test_column_and_line_charts(zh):
    rows = [{"label": "第一批", "value": 85.96}, {"label": "第二批", "value": 40.33},
            {"label": "第三批", "value": 0}]
    markup = column_chart(rows, caption="签约开工率", value_format=format_percent)
    svg = _svg(markup)
    heights = {float(r.get("data-value")): float(r.get("height")) for r in svg.iter(f"{SVG}rect")}
    assert heights[40.33] == pytest.approx(heights[85.96] * 40.33 / 85.96, abs=0.1)
    assert "85.96%" in _table_cells(markup)
    _assert_inside(svg)
    line = _svg(column_chart(rows, caption="签约开工率", kind="line"))
    assert len(list(line.iter(f"{SVG}circle"))) == 3
    assert line.find(f"{SVG}polyline") is not None


def test_numbers_follow_the_page_locale(app):
    with app.test_request_context("/ru/"):
        markup = bar_chart([{"label": "A", "value": 1234.5}], caption="c")
    assert "1\xa0234,5" in _table_cells(markup)


def test_chart_ids_are_unique_within_a_page_and_markup_labels_kept(zh):
    label = Markup('<span lang="zh-Hans">平城区</span>')
    first = bar_chart([{"label": label, "value": 1}], caption="a")
    second = column_chart([{"label": "b", "value": 2}], caption="b")
    assert 'id="chart-1"' in first and 'id="chart-2"' in second
    assert '<th scope="row"><span lang="zh-Hans">平城区</span>' in first
    assert ">平城区</text>" in first  # the drawing uses the plain text


def test_empty_and_bad_values_do_not_break(zh):
    assert "暂无数据" in bar_chart([], caption="空")
    markup = column_chart([{"label": "a", "value": "n/a"}, {"label": "b", "value": float("nan")},
                           {"label": "c", "value": -3}], caption="c")
    assert markup.count("—") >= 2
    _assert_inside(_svg(markup))
