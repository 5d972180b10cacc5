"""Tests for seed.textclean on the real source documents and on small synthetic cases.

The real-document tests pin phrases that are cut by a line break in the raw text, so they
fail if rejoining regresses, and structural facts (headings, header lines) that fail if
rejoining becomes too eager.
"""

import re
from pathlib import Path

import pytest

from seed.textclean import clean_text, heading_level, split_paragraphs

HERE = Path(__file__).resolve()
# The data pack's copies are what the loader reads; the shared originals are the fallback.
SOURCE_DIRS = (
    HERE.parents[1] / "seed" / "datong" / "policies",
    HERE.parents[2] / "shared" / "seeds",
)
DOCUMENTS = {
    "000": "f6cfc1e271ccd50c",
    "001": "af3e97a34eb089d6",
    "002": "0fd1ee25eff63e7e",
    "003": "5859e9a79dba7209",
    "004": "5f6e05ff9a267ff1",
}
PAGE_NUMBER_ONLY = re.compile(r"^(?:[-–—―·\s]*\d+[-–—―·\s]*|第\s*\d+\s*页.*)$")


def _source(number: str) -> Path:
    for folder in SOURCE_DIRS:
        if not folder.is_dir():
            continue
        for pattern in (f"{number}_*.txt", f"*{DOCUMENTS[number]}*.txt"):
            matches = sorted(folder.glob(pattern))
            if matches:
                return matches[0]
    pytest.skip(f"source document {number} not found in {[str(d) for d in SOURCE_DIRS]}")


def _raw(number: str) -> str:
    return _source(number).read_text(encoding="utf-8")


def _paragraphs(number: str) -> list[str]:
    return split_paragraphs(clean_text(_raw(number)))


def _without_breaks(raw: str) -> str:
    return re.sub(r"[ \t\u3000]*\n\s*", "", raw)


# --- real documents ----------------------------------------------------------------------

SPANNING_PHRASES = {
    "000": [
        "以及数字经济、现代医药、康养",
        "不断凝聚优秀人才，招商与引智同向发力",
        "定期组织重点招商引资项目对接会",
        "政务服务平台的诉求建议、资金扶持",
        "探索实施“飞地”经济，与先进产业地区",
    ],
    "001": [
        "充分发挥市场在资源配置中的决定性作用",
        "用好《山西省外来投资者投诉服务联席会议制度》机制",
        "编制重点产业链空间、产业、政策三个图谱和一套资源要素表",
        "三、加强“政府 + 链主 + 开发区”机制的构建",
    ],
    "002": [
        "各产业链执行链长部门牵头负责本产业链招商工作",
        "探索“基金+项目”直投模式",
        "激励干部敢闯敢试",
    ],
    "003": [
        "工业投资(含信创)为19.03亿元，占比为98.75%",
        "推动产业集聚集群发展",
    ],
    "004": [
        "现将《云南省务实招商三年行动计划(2023—2025年)》印发给你们",
        "采取龙头企业以商招商",
    ],
}


@pytest.mark.parametrize(
    ("number", "phrase"),
    [(number, phrase) for number, phrases in SPANNING_PHRASES.items() for phrase in phrases],
)
def test_phrase_cut_by_a_line_break_is_found_after_cleaning(number, phrase):
    raw = _raw(number)
    assert phrase not in raw, "the phrase should be cut by a break in the raw text"
    assert phrase in _without_breaks(raw), "the phrase should differ only by line breaks"
    assert phrase in clean_text(raw)


def test_sentence_interrupted_by_photo_captions_is_rejoined_in_003():
    raw = _raw("003")
    phrase = "应县经开区被评为全省校友经济“双招双引”示范基地。"
    assert phrase not in _without_breaks(raw)
    paragraphs = _paragraphs("003")
    holder = next(p for p in paragraphs if phrase in p)
    assert holder.startswith("强力推动校友招商引资。")
    following = paragraphs[paragraphs.index(holder) + 1 :]
    assert following[:2] == ["三一硅能 5GW 单晶硅项目投产", "三一朔州 单晶硅项目现场"]
    assert following[2].startswith("持续优化营商环境。")


@pytest.mark.parametrize("number", sorted(DOCUMENTS))
def test_output_shape(number):
    cleaned = clean_text(_raw(number))
    assert "\n\n\n" not in cleaned
    assert cleaned == "\n\n".join(split_paragraphs(cleaned))
    for paragraph in split_paragraphs(cleaned):
        assert "\n" not in paragraph
        assert paragraph == paragraph.strip()
        assert not PAGE_NUMBER_ONLY.match(paragraph), paragraph
        assert "\ufffd" not in paragraph


@pytest.mark.parametrize("number", sorted(DOCUMENTS))
def test_cleaning_is_idempotent(number):
    once = clean_text(_raw(number))
    assert clean_text(once) == once


@pytest.mark.parametrize("number", sorted(DOCUMENTS))
def test_no_text_is_lost(number):
    # Only line breaks, indentation and bold markers may go; every other character stays.
    raw = _raw(number)
    kept = re.sub(r"\s+|\*\*", "", clean_text(raw))
    expected = re.sub(r"\s+|\*\*", "", raw)
    if number == "003":
        # The two captions are moved after the sentence they interrupt.
        for caption in ("三一硅能5GW单晶硅项目投产", "三一朔州单晶硅项目现场"):
            kept = kept.replace(caption, "", 1)
            expected = expected.replace(caption, "", 1)
    if number == "001":
        expected = expected.replace("（下转B2版）", "")
    assert kept == expected


def test_000_header_lines_and_headings_are_kept_apart():
    paragraphs = _paragraphs("000")
    assert paragraphs[:4] == [
        "大同市人民政府文件",
        "同政发〔2026〕2号",
        "大同市人民政府 关于促进招商引资高质量发展的实施意见",
        "各县（区）人民政府，大同经开区管委会，市人民政府各委、办、局：",
    ]
    assert paragraphs[4].startswith("为深入贯彻党的二十大")
    assert paragraphs[4].endswith("制定本实施意见。")
    assert paragraphs[-6:] == [
        "大同市人民政府",
        "2026年2月2日",
        "（此件公开发布）",
        "抄送：市委各部门，市人大常委会办公室，市政协办公室，市中级人民法院，市检察院，"
        "各人民团体，各新闻单位。",
        "大同市人民政府办公室",
        "2026年2月2日印发",
    ]
    levels = [heading_level(p) for p in paragraphs]
    assert levels.count(1) == 6
    assert levels.count(2) == 25
    assert "（十九）推广数字应用" in paragraphs
    assert heading_level("（十九）推广数字应用") == 2
    # Every level-2 heading is followed by body text, not glued to it.
    for index, level in enumerate(levels):
        if level == 2:
            assert heading_level(paragraphs[index + 1]) is None
            assert len(paragraphs[index + 1]) > 50


def test_000_page_break_inside_a_paragraph_is_one_paragraph():
    paragraphs = _paragraphs("000")
    holder = next(p for p in paragraphs if "现代医药" in p)
    assert holder.startswith("立足大同市资源禀赋与产业基础")
    assert holder.endswith("加快构建现代化产业体系。")


def test_001_hard_wrapped_text_becomes_items():
    paragraphs = _paragraphs("001")
    assert "一、加强优选链主企业明晰责任和义务" in paragraphs
    assert heading_level("一、加强优选链主企业明晰责任和义务") == 1
    assert "三、加强“政府 + 链主 + 开发区”机制的构建" in paragraphs
    levels = [heading_level(p) for p in paragraphs]
    assert levels.count(1) == 14
    assert paragraphs[0].startswith("为全面贯彻党的二十大")
    assert paragraphs[0].endswith("提出以下工作意见：")
    # The issuer and title printed at the foot of the page stay as they are.
    trailer = ["山西省商务厅等 23部门", "关于加强产业链供应链招商引资稳资安企指导服务的意见"]
    assert paragraphs[-2:] == trailer
    for paragraph in paragraphs[:-2]:
        if heading_level(paragraph) is None:
            assert len(paragraph) >= 60, paragraph
    # Numbered items run to their attribution, including one printed on its own line.
    items = [p for p in paragraphs if p.startswith("（")]
    assert len(items) == 47
    assert all(re.search(r"[）〕]$", item) for item in items)
    assert any(item.endswith("适时启动落地保障工作。（各产业链牵头单位）") for item in items)


def test_001_newspaper_continuation_note_is_dropped():
    assert "（下转 B2 版）" in _raw("001")
    assert "下转" not in clean_text(_raw("001"))


def test_002_bold_markers_are_removed_and_items_kept():
    raw = _raw("002")
    assert "**" in raw
    cleaned = clean_text(raw)
    assert "*" not in cleaned
    paragraphs = split_paragraphs(cleaned)
    assert paragraphs[:2] == ["张掖市进一步强化招商引资工作的措施", "(征求意见稿)"]
    assert any(p.startswith("1. 强化市级领导示范责任。市人大常委会") for p in paragraphs)
    items = [p for p in paragraphs if re.match(r"\d{1,2}\. ", p)]
    assert [int(p.split(".")[0]) for p in items] == list(range(1, 21))
    # Numbered items here are body paragraphs with a run-in title, not headings.
    assert all(heading_level(p) is None for p in items)
    assert [p for p in paragraphs if heading_level(p) == 1] == [
        "一、压实各方主体责任，构建全员招商格局",
        "二、创新精准招商方式，提升项目招引质效",
        "三、优化项目管理服务，加速项目落地转化",
        "四、强化督导激励保障，凝聚招商工作合力",
    ]


def test_003_section_labels_stay_apart():
    paragraphs = _paragraphs("003")
    assert paragraphs[:4] == [
        "全省开发区",
        "“项目建设向‘新’突破 改革能级持续提升”特刊",
        "大同",
        "朔州",
    ]
    for label in ("【总体工作情况】", "【工作亮点及工作措施】", "供稿：大同市商务局"):
        assert label in paragraphs


def test_004_half_width_headings():
    paragraphs = _paragraphs("004")
    assert "(一) 指导思想" in paragraphs
    assert heading_level("(一) 指导思想") == 2
    assert "(2023—2025年)" in paragraphs
    assert heading_level("(2023—2025年)") is None


# --- synthetic cases ---------------------------------------------------------------------


def test_cjk_pieces_join_without_space():
    assert (
        clean_text("重点聚焦数字经济、现\n\n代医药等领域。") == "重点聚焦数字经济、现代医药等领域。"
    )


def test_latin_words_keep_a_space():
    raw = "支持开源，加强与 Apache Software\n\nFoundation 等国际组织合作。"
    assert clean_text(raw) == "支持开源，加强与 Apache Software Foundation 等国际组织合作。"
    assert clean_text("growth of the\n\nlocal economy.") == "growth of the local economy."


def test_number_split_across_lines_is_not_spaced():
    assert clean_text("投资额达到，共计 10\n\n00 万元。") == "投资额达到，共计 1000 万元。"


def test_sentence_final_punctuation_ends_a_paragraph():
    raw = "第一段到此结束。\n\n第二段开始；\n\n第三段：\n\n“引号结尾。”\n\n末段！"
    assert split_paragraphs(clean_text(raw)) == [
        "第一段到此结束。",
        "第二段开始；",
        "第三段：",
        "“引号结尾。”",
        "末段！",
    ]


def test_attribution_in_brackets_ends_a_paragraph_but_a_district_does_not():
    raw = "加强统筹协调。（市促投局负责）\n\n下一段，按照要求各县（区）\n\n人民政府落实。"
    assert split_paragraphs(clean_text(raw)) == [
        "加强统筹协调。（市促投局负责）",
        "下一段，按照要求各县（区）人民政府落实。",
    ]


def test_line_starting_with_closing_punctuation_continues():
    assert clean_text("称为“链主\n\n”，带动发展。") == "称为“链主”，带动发展。"


@pytest.mark.parametrize(
    "heading",
    [
        "一、总体要求",
        "（一）指导思想",
        "(一) 指导思想",
        "1. 基本原则",
        "1．基本原则",
        "（1）适用范围",
    ],
)
def test_headings_start_a_paragraph_even_after_an_unfinished_line(heading):
    raw = f"前文，尚未结束\n\n{heading}\n\n正文内容。"
    assert split_paragraphs(clean_text(raw)) == ["前文，尚未结束", heading, "正文内容。"]


def test_heading_is_not_glued_to_its_body():
    raw = "（一）构建纵横联动招商服务体系\n\n构建市、县两级高效协同的招商服务保障体系。"
    assert split_paragraphs(clean_text(raw)) == [
        "（一）构建纵横联动招商服务体系",
        "构建市、县两级高效协同的招商服务保障体系。",
    ]


def test_articles_start_paragraphs():
    raw = "第一条 为了规范管理，根据有关\n\n规定，制定本办法。\n\n第二条 本办法适用于全市。"
    assert split_paragraphs(clean_text(raw)) == [
        "第一条 为了规范管理，根据有关规定，制定本办法。",
        "第二条 本办法适用于全市。",
    ]
    assert heading_level("第一条 为了规范管理。") is None


def test_document_header_lines_stay_separate():
    raw = (
        "大同市人民政府文件\n\n同政发〔2026〕2号\n\n"
        "大同市人民政府 关于促进招商引资高质量发展的实施意见\n\n"
        "各县（区）人民政府：\n\n为深入贯彻党的二十大精神，制定本意见。"
    )
    assert split_paragraphs(clean_text(raw)) == [
        "大同市人民政府文件",
        "同政发〔2026〕2号",
        "大同市人民政府 关于促进招商引资高质量发展的实施意见",
        "各县（区）人民政府：",
        "为深入贯彻党的二十大精神，制定本意见。",
    ]


@pytest.mark.parametrize("page_number", ["- 3 -", "— 3 —", "3", "第 3 页", "第3页 共9页", "·12·"])
def test_page_numbers_are_dropped_and_the_sentence_rejoined(page_number):
    raw = f"推动产业向现\n\n{page_number}\n\n代化转型升级。"
    assert clean_text(raw) == "推动产业向现代化转型升级。"


def test_year_on_its_own_line_is_not_a_page_number():
    assert clean_text("印发日期\n\n2026") == "印发日期\n\n2026"


def test_running_header_is_dropped():
    raw = (
        "关于促进发展的意见\n\n为了加强管理，推动\n\n"
        "大同市人民政府公报 2026年第2期\n\n高质量发展。\n\n"
        "大同市人民政府公报 2026年第3期\n\n第二段。\n\n"
        "大同市人民政府公报 2026年第4期\n\n第三段。"
    )
    assert split_paragraphs(clean_text(raw)) == [
        "关于促进发展的意见",
        "为了加强管理，推动高质量发展。",
        "第二段。",
        "第三段。",
    ]


def test_recurring_body_fragment_is_not_a_running_header():
    raw = "\n\n".join(["（省商务厅按职责分工负责）"] * 3)
    assert split_paragraphs(clean_text(raw)) == ["（省商务厅按职责分工负责）"] * 3


def test_control_characters_and_replacement_marks_are_dropped():
    raw = "招商\x07引资\ufffd工作\u200b会议。\x0c下一页内容。\r\n结尾。"
    assert split_paragraphs(clean_text(raw)) == ["招商引资工作会议。", "下一页内容。", "结尾。"]


def test_bold_markers_are_removed():
    raw = "1. **强化市级领导示范责任。**市领导带头招商。"
    assert clean_text(raw) == "1. 强化市级领导示范责任。市领导带头招商。"


def test_width_forms_are_kept_and_text_is_nfc():
    raw = "（一）Ｃａｆe\u0301 １２３ (一) 123。"
    assert clean_text(raw) == "（一）Ｃａｆé １２３ (一) 123。"


def test_trailing_whitespace_and_indentation_are_stripped():
    assert (
        clean_text("\u3000\u3000正文第一段。  \n\n  第二段。\t\n\n\n") == "正文第一段。\n\n第二段。"
    )


def test_hard_wrapped_column_is_rejoined_even_after_full_stops():
    body = (
        "要充分发挥市场在资源配置中的决定性作用。"
        "更好发挥政府作用，不断优化营商环境，聚焦有效指导与高效服务。"
        "凝聚各地各部门和产业链供应链市场主体合力，着力提升产业链供应链韧性。"
        "以产业链供应链安全稳定和高水平招商引资促进高质量发展。"
        "围绕产业链供应链招商引资稳资安企做好综合统筹与协同协作，提出以下工作意见："
    )
    lines = [body[i : i + 20] for i in range(0, len(body), 20)]
    assert len(lines) == 8
    assert lines[0].endswith("。")
    heading = "一、加强优选链主企业明晰责任和义务"
    item = (
        "（一）落实管理办法，结合产业链发展特点，"
        "配合各产业链牵头单位完善形成差异化的评价指标体系。（省工信厅负责）"
    )
    item_lines = [item[i : i + 20] for i in range(0, len(item), 20)]
    raw = "\n\n".join([*lines, heading, *item_lines])
    assert split_paragraphs(clean_text(raw)) == [body, heading, item]


def test_captions_inside_a_sentence_move_after_it():
    raw = (
        "强力推动招商，应县经开区被评为全省校友\n\n三一硅能 5GW 单晶硅项目投产\n\n"
        "三一朔州 单晶硅项目现场\n\n经济示范基地。\n\n持续优化营商环境。"
    )
    assert split_paragraphs(clean_text(raw)) == [
        "强力推动招商，应县经开区被评为全省校友经济示范基地。",
        "三一硅能 5GW 单晶硅项目投产",
        "三一朔州 单晶硅项目现场",
        "持续优化营商环境。",
    ]


def test_short_tail_before_a_heading_is_not_a_caption():
    raw = "主动对接京津冀、粤港澳\n\n大湾区\n\n一、总体要求"
    assert split_paragraphs(clean_text(raw)) == ["主动对接京津冀、粤港澳大湾区", "一、总体要求"]


@pytest.mark.parametrize(
    "raw",
    [
        "推动产业向现\n\n- 3 -\n\n代化转型。\n\n一、总则\n\n（一）目标\n\n正文，未完\n\n待续。",
        "标题\n\n副标题\n\n正文第一段，\n\n延续。",
        "加强与 Apache Software\n\nFoundation 合作，1. **加粗**。",
    ],
)
def test_synthetic_cleaning_is_idempotent(raw):
    once = clean_text(raw)
    assert clean_text(once) == once


def test_empty_input():
    assert clean_text("") == ""
    assert clean_text("\n\n \u3000\n") == ""
    assert split_paragraphs("") == []


def test_split_paragraphs_tolerates_extra_blank_lines():
    assert split_paragraphs("甲。\n\n\n \n乙。\n\n") == ["甲。", "乙。"]


@pytest.mark.parametrize(
    ("paragraph", "level"),
    [
        ("一、总体要求", 1),
        ("十一、加强协同资金链创新贯通银企基金", 1),
        ("（一）指导思想", 2),
        ("(一) 指导思想", 2),
        ("（二十五）建立容错机制", 2),
        ("1. 基本原则", 3),
        ("1．基本原则", 3),
        ("12、工作要求", 3),
        ("1. 强化市级领导示范责任。", 3),
        ("（1）适用范围", 4),
        ("(2) 适用范围", 4),
        ("第一条 为了规范管理。", None),
        ("2023年度开发区考核结果", None),
        ("1.5倍于上年", None),
        ("3.0版改革", None),
        ("(2023—2025年)", None),
        ("【总体工作情况】", None),
        ("一、", None),
        ("1. 强化市级领导示范责任。市领导带头开展招商工作。", None),
        ("（一）" + "落实管理办法，结合产业链发展特点" * 3, None),
        ("为深入贯彻党的二十大精神。", None),
    ],
)
def test_heading_level(paragraph, level):
    assert heading_level(paragraph) == level


def test_folded_yaml_lines_join_without_a_space_in_chinese_and_japanese():
    from seed.textclean import join_folded

    assert join_folded("北京研发、 大同制造") == "北京研发、大同制造"
    assert join_folded("標準地の 出让") == "標準地の出让"
    assert join_folded("AI 芯片 2026 年") == "AI 芯片 2026 年"
    assert join_folded("다퉁시 인민정부") == "다퉁시 인민정부"
    assert join_folded("Datong city") == "Datong city"
