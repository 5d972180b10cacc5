"""Industry-chain maps: records linked to chain nodes by the data pack, drawn as SVG on the
industry page with the structured list beside it, and only live records shown."""

import json
import re
from datetime import date
from xml.etree import ElementTree

import pytest
import yaml

from portal.content.chain import sync_chain
from portal.extensions import db
from portal.models import ChainLeader, ChainNode, Industry, Opportunity, Site
from portal.showcase.chainmap import NARROW_WIDTH, text_em, wrap
from seed.loader import PackError, load_pack

SVG = "{http://www.w3.org/2000/svg}"

INDUSTRY = {
    "slug": "hydrogen", "name": "氢能", "is_key": True,
    "chain": {
        "upstream": [{"key": "electrolysers", "name": "电解槽", "gap": True,
                      "gap_note": "引进电解槽整机企业"}],
        "midstream": [{"key": "fuel-cells", "name": "燃料电池电堆与系统"},
                      {"name": "储运与加注"}],
        "downstream": [{"key": "transport", "name": "氢能交通"}],
    },
    "leaders": [
        {"name": "燃料电池系统企业（演示）", "node": "fuel-cells", "is_demo": True,
         "translations": {"en": {"name": "Fuel-cell system maker (demo)"}}},
        {"name": "本地加氢站运营企业（演示）", "node": "fuel-cells", "role": "local",
         "is_demo": True, "translations": {"en": {"name": "Local refuelling operator (demo)"}}},
        {"name": "氢能重卡车队（演示）", "role": "local", "is_demo": True,
         "translations": {"en": {"name": "Hydrogen truck fleet (demo)"}}},
    ],
    "translations": {"en": {"name": "Hydrogen"}},
}
BOX = [[113.2, 40.0], [113.4, 40.0], [113.4, 40.2], [113.2, 40.2], [113.2, 40.0]]


def _opportunity(key, node=None, **extra):
    record = {"key": key, "kind": "project", "title": f"项目{key}", "industry": "hydrogen",
              "published": "2026-01-05", "is_demo": True,
              "translations": {"en": {"title": f"Project {key}"}}}
    if node:
        record["chain_node"] = node
    return record | extra


def _site(key, nodes):
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[
        [113.25, 40.05], [113.26, 40.05], [113.26, 40.06], [113.25, 40.06], [113.25, 40.05]]]},
        "properties": {"key": key, "kind": "parcel", "name": f"地块{key}", "region": "city",
                       "land_use": "industrial", "area_mu": 22.0, "chain_nodes": nodes,
                       "is_demo": True, "translations": {"en": {"name": f"Parcel {key}"}}}}


def write_pack(path, industry=None, opportunities=None, sites=None):
    path.mkdir(parents=True, exist_ok=True)
    files = {
        "pack.yaml": {"name": "chain", "root": "city", "title": "测试市"},
        "regions.yaml": [{"slug": "city", "kind": "city", "name": "测试市",
                          "centroid": [113.3, 40.1]}],
        "industries.yaml": [industry or INDUSTRY],
        "opportunities.yaml": opportunities if opportunities is not None else [
            _opportunity("h-1", "hydrogen/fuel-cells"),
            _opportunity("h-2", "hydrogen/fuel-cells"),
            _opportunity("h-3", "hydrogen/transport"),
            _opportunity("h-4"),
        ],
    }
    for name, content in files.items():
        (path / name).write_text(yaml.safe_dump(content, allow_unicode=True), "utf-8")
    (path / "boundaries.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"slug": "city"},
         "geometry": {"type": "Polygon", "coordinates": [BOX]}}]}), "utf-8")
    (path / "sites.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": (
        sites if sites is not None else [_site("p-1", ["hydrogen/fuel-cells",
                                                       "hydrogen/electrolysers"]),
                                         _site("p-2", ["hydrogen/electrolysers"])])}), "utf-8")
    return path


@pytest.fixture
def pack(tmp_path):
    return write_pack(tmp_path / "chain")


def _node(key):
    return db.session.scalars(db.select(ChainNode).filter_by(key=key)).one()


def _svgs(page: bytes) -> dict:
    """The two drawings, parsed as XML (the renderer writes well-formed SVG)."""
    found = {}
    for layout in ("wide", "narrow"):
        match = re.search(rf'<svg class="chainmap-svg chainmap-{layout}".*?</svg>',
                          page.decode(), re.S)
        found[layout] = ElementTree.fromstring(match.group(0))  # noqa: S314 - our own SVG
    return found


def _all(element, tag: str, cls: str | None = None) -> list:
    return [e for e in element.iter(SVG + tag)
            if cls is None or cls in (e.get("class") or "").split()]


def _texts(svg) -> list[str]:
    return ["".join(t.itertext()) for t in _all(svg, "text")]


def _node_group(svg, node_id: int):
    return next(g for g in _all(svg, "g", "cm-node") if g.get("data-node") == str(node_id))


def _list_entry(page: bytes, node_id: int) -> str:
    """The node's entry in the text list under the map."""
    body = page.decode()
    start = body.index(f'<li id="chain-node-{node_id}"')
    end = body.find('<li id="chain-node-', start + 1)
    return body[start:end if end > 0 else body.index("</section>", start)]


# --- loader --------------------------------------------------------------------------------


def test_loader_links_companies_opportunities_and_sites_to_nodes(ctx, pack):
    load_pack(str(pack))
    fuel = _node("fuel-cells")
    assert fuel.ref == "hydrogen/fuel-cells"
    assert {(c.name, c.role) for c in fuel.companies} == {
        ("燃料电池系统企业（演示）", "leader"), ("本地加氢站运营企业（演示）", "local")}
    assert all(c.is_demo for c in db.session.scalars(db.select(ChainLeader)))
    fleet = db.session.scalars(db.select(ChainLeader).filter_by(name="氢能重卡车队（演示）")).one()
    assert fleet.chain_node is None and fleet.role == "local"
    opps = {o.key: o for o in db.session.scalars(db.select(Opportunity))}
    assert opps["h-1"].chain_node is fuel and opps["h-2"].chain_node is fuel
    assert opps["h-3"].chain_node.key == "transport" and opps["h-4"].chain_node is None
    sites = {s.key: s for s in db.session.scalars(db.select(Site))}
    assert {n.key for n in sites["p-1"].chain_nodes} == {"fuel-cells", "electrolysers"}
    assert [n.key for n in sites["p-2"].chain_nodes] == ["electrolysers"]
    # A node the pack gives no key gets one, so records can name it later.
    assert db.session.scalars(db.select(ChainNode).filter_by(name="储运与加注")).one().key \
        == "midstream-1"


def test_reloading_keeps_node_rows_and_their_links(ctx, pack):
    load_pack(str(pack))
    ids = {n.key: n.id for n in db.session.scalars(db.select(ChainNode))}
    changed = {**INDUSTRY, "chain": {**INDUSTRY["chain"], "midstream": [
        {"key": "fuel-cells", "name": "燃料电池系统"}]}}
    write_pack(pack, industry=changed)
    load_pack(str(pack))
    db.session.expire_all()
    fuel = _node("fuel-cells")
    assert fuel.id == ids["fuel-cells"] and fuel.name == "燃料电池系统"
    assert db.session.scalars(db.select(Opportunity).filter_by(key="h-1")).one().chain_node_id \
        == fuel.id
    # The dropped node is gone, and so are links to it.
    assert db.session.scalars(db.select(ChainNode).filter_by(name="储运与加注")).first() is None


@pytest.mark.parametrize(("file", "change", "field"), [
    ("opportunities.yaml", {"opportunities": [_opportunity("h-9", "hydrogen/no-such-node")]},
     "chain_node"),
    ("sites.geojson", {"sites": [_site("p-9", ["hydrogen/no-such-node"])]}, "chain_nodes"),
])
def test_an_unknown_node_is_rejected_with_a_clear_problem(ctx, tmp_path, file, change, field):
    path = write_pack(tmp_path / "bad", **change)
    with pytest.raises(PackError) as caught:
        load_pack(str(path))
    error = caught.value
    assert error.file.endswith(file) and error.field == field
    assert "hydrogen/no-such-node" in error.problem and "未知的产业链环节" in error.problem
    assert db.session.scalar(db.select(db.func.count(Industry.id))) == 0  # nothing written


def test_a_node_of_another_industry_and_an_unknown_company_node_are_rejected(ctx, tmp_path):
    other = _opportunity("h-8", "hydrogen/transport", industry=None)
    other.pop("industry")
    path = write_pack(tmp_path / "a", opportunities=[{**other, "industry": "hydrogen"}])
    load_pack(str(path))  # the same industry: fine
    wrong = {**INDUSTRY, "leaders": [{"name": "某企业", "node": "nowhere"}]}
    with pytest.raises(PackError) as caught:
        load_pack(str(write_pack(tmp_path / "b", industry=wrong)))
    assert caught.value.field == "leaders.node" and "nowhere" in caught.value.problem
    dup = {**INDUSTRY, "chain": {"upstream": [{"key": "x", "name": "甲"},
                                              {"key": "x", "name": "乙"}]}, "leaders": []}
    with pytest.raises(PackError) as caught:
        load_pack(str(write_pack(tmp_path / "c", industry=dup, opportunities=[], sites=[])))
    assert caught.value.field == "chain.key"


def test_datong_pack_links_a_good_share_of_records(site_app):
    with site_app.app_context():
        opps = db.session.scalars(db.select(Opportunity)).all()
        linked = [o for o in opps if o.chain_node is not None]
        assert len(linked) >= len(opps) * 0.6
        assert all(o.chain_node.industry_id == o.industry_id for o in linked)
        sites = db.session.scalars(db.select(Site)).all()
        assert sum(1 for s in sites if s.chain_nodes) >= len(sites) * 0.4
        companies = db.session.scalars(db.select(ChainLeader)).all()
        assert sum(1 for c in companies if c.role == "local") >= 5
        assert sum(1 for c in companies if c.chain_node is not None) >= len(companies) * 0.8
        # Invented companies say so; the two real ones the source names do not.
        assert {c.name for c in companies if not c.is_demo} == {"三一硅能", "百胜中国"}


# --- the drawing -------------------------------------------------------------------------


def test_svg_has_one_box_per_node_and_names_every_company(client, ctx, pack):
    load_pack(str(pack))
    nodes = db.session.scalars(db.select(ChainNode)).all()
    page = client.get("/zh/industries/hydrogen")
    assert page.status_code == 200
    for layout, svg in _svgs(page.data).items():
        boxes = _all(svg, "rect", "cm-box")
        assert len(boxes) == len(nodes) == 4, layout
        assert svg.get("aria-hidden") == "true"  # the list below says it all to screen readers
        texts = " ".join(_texts(svg))
        for node in nodes:
            assert node.name in texts
        assert "链主：燃料电池系统企业（演示）" in texts
        assert "本地企业：本地加氢站运营企业（演示）" in texts
        assert "氢能重卡车队" not in texts  # on no node: listed below the map only
        gaps = _all(svg, "g", "cm-gap")
        assert len(gaps) == 1
        gap_box = _all(gaps[0], "rect")[0]
        assert gap_box.get("stroke-dasharray") and gap_box.get("fill").startswith("url(#")
        assert "补链方向" in "".join(gaps[0].itertext())
        plain = [_all(g, "rect")[0] for g in _all(svg, "g", "cm-node") if g not in gaps]
        assert len(plain) == 3 and all(not r.get("stroke-dasharray") for r in plain)
        links = _all(svg, "a")
        assert links and all(a.get("tabindex") == "-1" for a in links)  # keyboards: the list
    assert b"style=" not in page.data.split(b"<main", 1)[1]  # CSP: no inline styles
    body = page.data.decode()
    assert "产业链环节（文字版）" in body and "氢能重卡车队（演示）" in body


def test_links_go_to_live_records_that_exist(client, ctx, pack):
    load_pack(str(pack))
    draft = Opportunity(key="h-draft", kind="project", title="草稿项目不应出现",
                        published=date(2026, 1, 6), publication="draft",
                        chain_node=_node("transport"), industry=_node("transport").industry)
    db.session.add(draft)
    db.session.commit()
    page = client.get("/zh/industries/hydrogen")
    body = page.data.decode()
    assert "草稿项目不应出现" not in body
    wide = _svgs(page.data)["wide"]
    # The transport node has one live opportunity: the map links straight to it.
    transport = _all(_node_group(wide, _node("transport").id), "a")
    h3 = db.session.scalars(db.select(Opportunity).filter_by(key="h-3")).one()
    assert [a.get("href") for a in transport] == [f"/zh/opportunities/{h3.id}"]
    # Fuel cells: two opportunities and a site, so the map links to the node in the list.
    fuel = _node("fuel-cells")
    links = _all(_node_group(wide, fuel.id), "a")
    assert [a.get("href") for a in links] == [f"#chain-node-{fuel.id}"]
    assert "投资机会 2 项 · 可用载体 1 处" in "".join(links[0].itertext())
    hrefs = re.findall(r'href="([^"#]+)"', _list_entry(page.data, fuel.id))
    assert len(hrefs) == 3
    for href in hrefs:
        assert client.get(href).status_code == 200
    assert client.get(f"/zh/opportunities/{draft.id}").status_code == 404


def test_a_node_renamed_in_the_database_shows_on_the_page(app, client, pack):
    with app.app_context():  # not held across requests: each request picks its own language
        load_pack(str(pack))
        node = _node("transport")
        node.name = "氢能重卡与城市物流车"
        node.translations = {"en": {"name": "Hydrogen trucks"}}
        db.session.commit()
        db.session.remove()
    for lang, name in (("zh", "氢能重卡与城市物流车"), ("en", "Hydrogen trucks")):
        page = client.get(f"/{lang}/industries/hydrogen")
        for svg in _svgs(page.data).values():
            assert name in _texts(svg)
        assert name in page.data.decode()


def test_staff_editing_the_chain_keeps_links(ctx, pack):
    """The back office writes through the same function: a renamed node keeps its rows."""
    load_pack(str(pack))
    industry = db.session.scalars(db.select(Industry)).one()
    fuel = _node("fuel-cells")
    chain = {"midstream": [{"key": "fuel-cells", "name": "电堆"}],
             "upstream": [{"key": "electrolysers", "name": "电解槽"}]}
    sync_chain(industry, chain, [{"name": "甲企业", "node": "fuel-cells", "role": "local"}], {})
    db.session.commit()
    assert _node("fuel-cells").id == fuel.id and _node("fuel-cells").name == "电堆"
    assert [c.name for c in _node("fuel-cells").companies] == ["甲企业"]
    assert db.session.scalars(db.select(Opportunity).filter_by(key="h-3")).one().chain_node \
        is None  # its node (transport) was removed
    site = db.session.scalars(db.select(Site).filter_by(key="p-1")).one()
    assert {n.key for n in site.chain_nodes} == {"fuel-cells", "electrolysers"}


@pytest.mark.parametrize("text", [
    "燃料电池电堆与系统及关键材料（质子交换膜、催化剂、气体扩散层）",
    "Fuel-cell stacks and systems with membranes, catalysts and gas diffusion layers",
    "Топливные элементы, батареи и системы с мембранами и катализаторами",
    "Supercalifragilisticexpialidociouslylongwordwithoutanyspaces",
])
def test_wrapped_lines_fit_the_box(text):
    lines = wrap(text, NARROW_WIDTH - 20, 13)
    assert len(lines) >= 2
    assert all(text_em(line) * 13 <= NARROW_WIDTH - 20 for line in lines)
    assert re.sub(r"\s", "", "".join(lines)) == re.sub(r"\s", "", text)


# --- the back office ---------------------------------------------------------------------


def test_staff_set_the_links_in_the_back_office(app, pack):
    from tests import factories
    from tests.test_admin_reference import form_of, text

    with app.app_context():
        load_pack(str(pack))
        factories.staff(email="chain@example.gov.cn", password="copper kettle drum")
        db.session.commit()
        db.session.remove()
    browser = app.test_client()
    assert browser.post("/admin/login", data={"email": "chain@example.gov.cn",
                                              "password": "copper kettle drum"}).status_code == 302
    # A company put on a node, as a local company; a node given a readable key.
    data = form_of(browser, "/admin/reference/industries/hydrogen")
    fleet = next(k[:-5] for k, v in data.items()
                 if k.endswith("-name") and v.startswith("氢能重卡"))
    assert data[f"{fleet}-node"] == "" and data[f"{fleet}-role"] == "local"
    storage = next(k[:-5] for k, v in data.items() if k.endswith("-name") and v == "储运与加注")
    assert data[f"{storage}-key"] == "midstream-1"
    data |= {f"{fleet}-node": "transport", f"{storage}-key": "storage"}
    answer = browser.post("/admin/reference/industries/hydrogen", data=data)
    assert answer.status_code == 302, text(answer)
    data = form_of(browser, "/admin/reference/industries/hydrogen")
    data[f"{storage}-key"] = "Not A Key"
    answer = browser.post("/admin/reference/industries/hydrogen", data=data)
    assert answer.status_code == 422 and "用小写英文字母、数字和 -" in text(answer)
    with app.app_context():
        company = db.session.scalars(db.select(ChainLeader).filter_by(name="氢能重卡车队（演示）")
                                     ).one()
        assert (company.chain_node.key, company.role) == ("transport", "local")
        assert _node("storage").name == "储运与加注"
        db.session.remove()
    # An opportunity names its node; an unknown or another industry's node is refused.
    form = text(browser.get("/admin/content/opportunities/new"))
    assert 'value="hydrogen/fuel-cells"' in form and 'value="hydrogen/storage"' in form
    new = {"title": "电堆测试平台", "kind": "project", "industry": "hydrogen",
           "published": "2026-11-01", "status": "open"}
    answer = browser.post("/admin/content/opportunities/new",
                          data=new | {"chain_node": "hydrogen/nowhere"})
    assert answer.status_code != 302 and "未知的产业链环节 hydrogen/nowhere" in text(answer)
    answer = browser.post("/admin/content/opportunities/new",
                          data=new | {"chain_node": "hydrogen/fuel-cells"})
    assert answer.status_code == 302, text(answer)
    with app.app_context():
        row = db.session.scalars(db.select(Opportunity).filter_by(title="电堆测试平台")).one()
        assert row.chain_node.ref == "hydrogen/fuel-cells" and row.publication == "draft"
        db.session.remove()
    assert 'value="hydrogen/electrolysers"' in text(browser.get("/admin/content/sites/new"))
