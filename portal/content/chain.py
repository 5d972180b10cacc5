"""Writing an industry's chain map (nodes and the companies on them) from a record.

The data-pack loader and the back office both write a chain map from a record in the pack's
format. Nodes are updated in place (matched on their key, else on stage and name), never
dropped and re-created, because opportunities and sites point at them: a node renamed by staff
keeps its links. A node that is gone takes its links with it, explicitly, so SQLite without
enforced foreign keys ends up like PostgreSQL.
"""

from portal.extensions import db
from portal.models import CHAIN_STAGES, ChainLeader, ChainNode, Opportunity
from portal.models.industries import site_chain_node

REF_PATTERN = "^[a-z0-9][a-z0-9-]*/[a-z0-9][a-z0-9-]*$"


def node_refs() -> dict[str, ChainNode]:
    """Every chain node of the database by its reference ``industry-slug/key``."""
    return {n.ref: n for n in db.session.scalars(db.select(ChainNode)) if n.key}


def node_choices() -> list:
    """Every chain node as a choice for a back-office form: value ``industry/key``, label
    "industry · stage · node", in the order the industry pages show them."""
    from wtforms import SelectChoice

    from portal.labels import LABELS
    from portal.models import Industry

    nodes = db.session.scalars(
        db.select(ChainNode).join(Industry).where(ChainNode.key.is_not(None)))
    ordered = sorted(nodes, key=lambda n: (n.industry.sort_order or 0, n.industry_id,
                                           CHAIN_STAGES.index(n.stage), n.sort_order or 0, n.id))
    return [SelectChoice(n.ref, f"{n.industry.tr('name')} · "
                         f"{LABELS['chain_stage'][n.stage]} · {n.tr('name')}") for n in ordered]


def _free_key(stage: str, taken: set[str]) -> str:
    number = 1
    while f"{stage}-{number}" in taken:
        number += 1
    return f"{stage}-{number}"


def sync_chain(industry, chain: dict, leaders: list[dict], regions: dict) -> None:
    """Make ``industry``'s nodes and companies what ``chain`` and ``leaders`` say."""
    old = list(industry.chain_nodes)
    by_key = {n.key: n for n in old if n.key}
    by_name = {(n.stage, n.name): n for n in old}
    claimed = {n.get("key") for nodes in (chain or {}).values() for n in nodes if n.get("key")}
    taken = {n.key for n in old if n.key} | claimed
    used, assigned, nodes = set(), set(), []
    for stage in CHAIN_STAGES:
        for order, item in enumerate((chain or {}).get(stage, [])):
            node = by_key.get(item.get("key")) if item.get("key") else None
            if node is None:  # a node stored before it had a key, or a record without keys
                named = by_name.get((stage, item["name"]))
                if named is not None and not (named.key and (item.get("key")
                                                             or named.key in claimed)):
                    node = named
            if node is None or id(node) in used:
                node = ChainNode()
            used.add(id(node))
            key = item.get("key") or node.key
            if not key or key in assigned:  # never two nodes of an industry with one key
                key = _free_key(stage, taken)
            taken.add(key)
            assigned.add(key)
            node.key, node.stage, node.name = key, stage, item["name"]
            node.description = item.get("description", "")
            node.is_gap, node.gap_note = item.get("gap", False), item.get("gap_note", "")
            node.sort_order, node.translations = order, item.get("translations", {})
            nodes.append(node)
    gone = [n.id for n in old if id(n) not in used and n.id is not None]
    if gone:
        db.session.execute(db.update(Opportunity).where(Opportunity.chain_node_id.in_(gone))
                           .values(chain_node_id=None))
        db.session.execute(db.delete(site_chain_node)
                           .where(site_chain_node.c.chain_node_id.in_(gone)))
        db.session.execute(db.update(ChainLeader).where(ChainLeader.chain_node_id.in_(gone))
                           .values(chain_node_id=None))
    keyed = {n.key: n for n in nodes}
    # No autoflush: a new company is attached to a stored node before it joins the session.
    with db.session.no_autoflush:
        industry.chain_nodes = nodes
        industry.leaders = [
            ChainLeader(name=leader["name"], region=regions.get(leader.get("region")),
                        chain_node=keyed.get(leader.get("node")),
                        role=leader.get("role", "leader"),
                        description=leader.get("description", ""),
                        is_demo=leader.get("is_demo", False),
                        translations=leader.get("translations", {}))
            for leader in leaders or []
        ]
