"""Display labels for stored codes, translated through flask-babel."""

from flask_babel import lazy_gettext as _l

LABELS = {
    "policy_level": {
        "national": _l("国家级"), "provincial": _l("省级"), "municipal": _l("市级"),
        "county": _l("县（区）级"), "zone": _l("开发区"),
    },
    "policy_status": {
        "in_force": _l("现行有效"), "expired": _l("已失效"), "draft": _l("征求意见稿"),
    },
    "benefit_mode": {
        "automatic": _l("免申即享"), "instant": _l("即申即享"), "application": _l("申报"),
    },
    "region_kind": {
        "province": _l("省"), "city": _l("市"), "district": _l("区"), "county": _l("县"),
        "zone": _l("开发区"),
    },
    "zone_level": {"national": _l("国家级"), "provincial": _l("省级"), "municipal": _l("市级")},
    "chain_stage": {"upstream": _l("上游"), "midstream": _l("中游"), "downstream": _l("下游")},
    "site_kind": {
        "parcel": _l("土地"), "factory": _l("标准厂房"), "office": _l("办公楼宇"),
        "warehouse": _l("仓储物流"), "incubator": _l("孵化载体"),
    },
    "land_use": {
        "industrial": _l("工业用地"), "logistics": _l("物流仓储用地"),
        "commercial": _l("商业服务业用地"), "research": _l("科研用地"), "mixed": _l("混合用地"),
        "agricultural": _l("农业设施用地"),
    },
    "availability": {"available": _l("可供应"), "reserved": _l("洽谈中"), "taken": _l("已落地")},
    "readiness": {
        "road": _l("通路"), "water": _l("通给水"), "drainage": _l("通排水"),
        "power": _l("通电"), "telecom": _l("通信"), "gas": _l("通燃气"), "heat": _l("通热力"),
        "levelled": _l("场地平整"),
    },
    "opportunity_kind": {
        "scene": _l("场景机会"), "project": _l("招商项目"), "challenge": _l("揭榜挂帅"),
        "capability": _l("能力清单"), "demand": _l("需求清单"),
    },
    # 揭榜挂帅, in order (portal.opportunities.phases says what each one means).
    "challenge_phase": {
        "publish": _l("发榜"), "apply": _l("揭榜申报"), "review": _l("评审"),
        "notice": _l("公示"), "award": _l("授榜"),
    },
    "batch": {"signed": _l("签约一批"), "started": _l("开工一批"), "producing": _l("投产一批")},
    # 要素成本, in the order the pages show them (portal.models.factors.FACTOR_CATEGORIES).
    "factor_category": {
        "land": _l("工业用地"), "electricity": _l("电价"), "green_power": _l("绿电"),
        "water": _l("水价"), "gas": _l("天然气"), "heat": _l("供热"), "wage": _l("用工成本"),
        "logistics": _l("物流"),
    },
    "service_category": {
        "appeal": _l("诉求建议"), "funding": _l("资金扶持"), "affairs": _l("政务办事"),
        "talent": _l("人才服务"), "finance": _l("金融信贷"), "other": _l("其他服务"),
    },
    "demand_status": {
        "submitted": _l("已提交"), "accepted": _l("已受理"), "negotiating": _l("对接中"),
        "signed": _l("已签约"), "started": _l("已开工"), "producing": _l("已投产"),
        "closed": _l("已办结"),
    },
    "complaint_status": {
        "submitted": _l("已提交"), "supplement": _l("待补正材料"), "accepted": _l("已受理"),
        "rejected": _l("不予受理"), "in_progress": _l("办理中"), "answered": _l("已答复"),
        "closed": _l("已办结"),
    },
    "complaint_category": {
        "policy": _l("政策兑现"), "approval": _l("行政审批"), "enforcement": _l("执法检查"),
        "arrears": _l("拖欠账款"), "factors": _l("要素保障"),
        "environment": _l("投资环境与政策建议"), "other": _l("其他"),
    },
    "investor_type": {
        "domestic": _l("内资企业"), "foreign": _l("外商投资企业"), "hmt": _l("港澳台投资企业"),
    },
    "stage": {
        "new": _l("新设或新落地项目"), "expansion": _l("增资扩产"),
        "rnd": _l("研发及成果转化"), "listing": _l("拟上市挂牌"),
    },
    "size": {
        "micro": _l("微型企业"), "small": _l("小型企业"), "medium": _l("中型企业"),
        "large": _l("大型企业"),
    },
    "timeline": {
        "3m": _l("3个月内"), "6m": _l("3至6个月"), "12m": _l("6至12个月"),
        "later": _l("1年以后"), "unsure": _l("尚未确定"),
    },
    "currency": {
        "CNY": _l("人民币"), "USD": _l("美元"), "EUR": _l("欧元"), "HKD": _l("港元"),
        "JPY": _l("日元"), "KRW": _l("韩元"), "RUB": _l("卢布"),
    },
    "role": {
        "admin": _l("系统管理员"), "bureau": _l("促投局"), "region": _l("县区/开发区"),
        "department": _l("部门"),
    },
}

# Region profile figures the pages know how to show, in display order, with units.
FIGURE_LABELS = {
    "area_km2": _l("面积（平方公里）"),
    "population_10k": _l("常住人口（万人）"),
    "gdp_yi": _l("地区生产总值（亿元）"),
    "planned_area_km2": _l("规划面积（平方公里）"),
    "rank_group": _l("考评类别"),
    "rank_province": _l("全省考评排名"),
    "enterprises": _l("入驻企业（家）"),
    # City and zone figures from the source document (grouped with year and source in
    # portal/showcase/figures.py).
    "zones_assessed": _l("参加考核的开发区（家）"),
    "zones_excellent": _l("考核优秀的开发区（家）"),
    "zones_excellent_rate": _l("开发区考核优秀率"),
    "zone_industrial_investment_yi": _l("开发区工业投资（亿元）"),
    "zone_industrial_investment_share": _l("开发区工业投资占全市比重"),
    "zone_industrial_investment_growth": _l("开发区工业投资同比增长"),
    "zone_transition_investment_yi": _l("开发区转型项目投资（亿元）"),
    "zone_transition_investment_share": _l("开发区转型项目投资占全市比重"),
    "three_batches_rounds": _l("“三个一批”活动（次）"),
    "commitment_items": _l("承诺制事项（项）"),
    "standard_land_parcels": _l("出让“标准地”（宗）"),
    "standard_land_mu": _l("“标准地”面积（亩）"),
    "agency_services": _l("领办代办服务（件）"),
}
