"""What goes into the search index, built from the database."""

from portal.extensions import db
from portal.models import Opportunity, Policy, Site
from search import Document, engine


def policy_document(policy: Policy) -> Document:
    return Document("policy", policy.id, policy.title,
                    "\n".join(filter(None, [policy.doc_number, policy.summary, policy.body])))


def site_document(site: Site) -> Document:
    return Document("site", site.id, site.name, "\n".join([site.address, site.description]))


def opportunity_document(item: Opportunity) -> Document:
    return Document("opportunity", item.id, item.title, "\n".join([item.summary, item.body]))


def all_documents() -> list[Document]:
    docs = [policy_document(p) for p in db.session.scalars(db.select(Policy))]
    docs += [site_document(s) for s in db.session.scalars(db.select(Site))]
    docs += [opportunity_document(o) for o in db.session.scalars(db.select(Opportunity))]
    return docs


def reindex() -> int:
    documents = all_documents()
    engine().rebuild(documents)
    return len(documents)
