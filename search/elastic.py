"""The Elasticsearch engine (server major version 8): one index per content type behind an alias.

Each kind lives in a concrete index ``{prefix}-{kind}-{utc time}-{random}`` reached through the
alias ``{prefix}-{kind}``. Writes and searches only name the alias. ``rebuild`` fills a fresh
index and then moves the alias in one ``update_aliases`` call, so searches answer from the old
copy until the new one is complete and never see a half-built or missing index.

Analysis without plugins (the default) keeps the embedded engine's substring recall for
Chinese. The index analyzer (standard tokenizer, ``cjk_width``, ``lowercase``, ``cjk_bigram``
with ``output_unigrams``) stores every Han character once as a unigram and once as the bigram
starting at the same position. Each query term is then matched as a phrase with one of two
query analyzers, neither of which emits stacked tokens:

* a term made only of Han characters becomes a phrase of its bigrams (``cjk_bigram`` without
  unigrams): 标准地 is 标准 followed by 准地, which is where the text holds 标准地 and not
  where it holds 标准 and 准地 apart;
* any other term (one character, digits, Latin, mixed like AI芯片 or 2026年, emoji) becomes a
  phrase of unigrams (no ``cjk_bigram``), which lines up with the stored unigrams.

Querying with ``output_unigrams`` on as well would turn every multi-character term into a
token graph whose paths Elasticsearch expands one by one into span queries; the paths grow like
the Fibonacci numbers (10,946 for 20 characters), so long terms fail with ``TooManyClauses``.
Query text is never parsed as query syntax: terms come from ``search.text.terms`` and each
goes into a ``multi_match`` phrase.

Limits, compared with the embedded engine:

* Latin words match whole (the standard tokenizer's words): "datong" finds "Datong", "ato"
  does not.
* Inside a term that is not pure Han, punctuation between characters is skipped: "土，地"
  matches 土地.
* Documents are folded with ``cjk_width`` and ``lowercase`` only; query terms are NFKC-folded,
  so rare compatibility characters can differ.
* With ``analyzer="smartcn"``, ``"ik_smart"`` or ``"ik_max_word"`` (plugins the server must
  have) titles and bodies are indexed and searched as that analyzer's words: a term matches
  where the segmenter produced the same words, not any substring, and a single character only
  where it stands as a word. Phrases over ``ik_max_word``'s overlapping words are unreliable.
* Pages end at ``MAX_WINDOW`` (``index.max_result_window``); past it, ids are empty while the
  total and facets stay right.
* A write that lands while ``rebuild`` loads a kind goes to the old index and is lost with it
  when the alias moves; rebuild while writes are quiet or drain the outbox again afterwards.
"""

import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime

from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError, helpers

from .base import Document, Hits, Query, SearchEngine, SearchUnavailable
from .embedded import KEYWORD_FIELDS
from .text import snippet

KINDS = ("policy", "site", "opportunity")
PLUGIN_ANALYZERS = ("smartcn", "ik_smart", "ik_max_word")
TEXT_FIELDS = ("title^3", "translations^2", "body")  # weights as in the embedded engine
FACET_SIZE = 500
MAX_WINDOW = 10_000  # Elasticsearch's default index.max_result_window
REBUILD_TIMEOUT = 120.0  # seconds per request while loading a fresh index

# Part of every alias: a deployment whose indexes have an older mapping answers "empty" (search
# pages fall back to the database) until `flask search reindex` builds the new ones.
MAPPING_VERSION = 2
INDEX_ANALYZER = "portal_cjk_index"
BIGRAM_ANALYZER = "portal_cjk_bigrams"
UNIGRAM_ANALYZER = "portal_cjk_unigrams"

_ERRORS = (ApiError, TransportError, helpers.BulkIndexError)
_PREFIX = re.compile(r"[a-z0-9][a-z0-9_-]*")
_KIND = re.compile(r"[a-z][a-z0-9_]*")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]{2,}")


# --- request bodies (pure, so they can be read and printed without a server) ---------------


def _settings(analyzer: str | None) -> dict:
    """One shard keeps BM25 statistics and facet counts exact; replicas follow the cluster."""
    settings: dict = {"number_of_shards": 1, "auto_expand_replicas": "0-1"}
    if analyzer is None:
        folding = ["cjk_width", "lowercase"]
        settings["analysis"] = {
            "filter": {
                "portal_bigrams_and_unigrams": {"type": "cjk_bigram", "output_unigrams": True},
            },
            "analyzer": {
                INDEX_ANALYZER: {"type": "custom", "tokenizer": "standard",
                                 "filter": [*folding, "portal_bigrams_and_unigrams"]},
                BIGRAM_ANALYZER: {"type": "custom", "tokenizer": "standard",
                                  "filter": [*folding, "cjk_bigram"]},
                UNIGRAM_ANALYZER: {"type": "custom", "tokenizer": "standard",
                                   "filter": folding},
            },
        }
    return settings


def _mappings(analyzer: str | None) -> dict:
    if analyzer is None:
        text = {"type": "text", "analyzer": INDEX_ANALYZER, "search_analyzer": BIGRAM_ANALYZER}
    else:
        text = {"type": "text", "analyzer": analyzer}
    return {
        "dynamic": "strict",
        "properties": {
            "id": {"type": "integer"},
            "title": text,
            "translations": text,
            "body": text,
            "published": {"type": "date"},
            **{name: {"type": "keyword"} for name in KEYWORD_FIELDS},
        },
    }


def _source(doc: Document) -> dict:
    source = {"id": doc.id, "title": doc.title, "body": doc.body,
              "translations": doc.translations,
              "published": doc.published.isoformat() if doc.published else None}
    for name, value in doc.fields.items():
        if name not in KEYWORD_FIELDS:
            raise ValueError(f"unknown keyword field {name!r}")
        values = [str(v) for v in (value if isinstance(value, list) else [value])
                  if v not in (None, "")]
        if values:
            source[name] = values
    return source


def _term_clause(term: str, analyzer: str | None) -> dict:
    """Pure Han terms use the fields' bigram search analyzer; other terms use unigrams."""
    clause = {"query": term, "type": "phrase", "fields": list(TEXT_FIELDS), "tie_breaker": 1.0}
    if analyzer is None and not _HAN.fullmatch(term):
        clause["analyzer"] = UNIGRAM_ANALYZER
    return {"multi_match": clause}


def _filter_clauses(filters: dict[str, list[str]], leave_out: str | None = None) -> list[dict]:
    clauses = []
    for name, values in filters.items():
        if name not in KEYWORD_FIELDS:
            raise ValueError(f"unknown filter field {name!r}")
        if values and name != leave_out:
            clauses.append({"terms": {name: [str(v) for v in values]}})
    return clauses


def _facet_aggs(query: Query) -> dict:
    """A facet counts under every filter except its own (the post_filter spares the aggs)."""
    aggs = {}
    for name in query.facets:
        if name not in KEYWORD_FIELDS:
            raise ValueError(f"unknown facet field {name!r}")
        others = _filter_clauses(query.filters, leave_out=name)
        aggs[name] = {
            "filter": {"bool": {"filter": others}} if others else {"match_all": {}},
            "aggs": {"values": {"terms": {"field": name, "size": FACET_SIZE}}},
        }
    return aggs


def _window(offset: int, limit: int) -> tuple[int, int]:
    offset, limit = max(0, offset), max(0, limit)
    if offset >= MAX_WINDOW:
        return 0, 0
    return offset, min(limit, MAX_WINDOW - offset)


def _group_clause(group: list[str], analyzer: str | None) -> dict:
    """A glossary group: any of its alternatives will do."""
    if len(group) == 1:
        return _term_clause(group[0], analyzer)
    return {"bool": {"should": [_term_clause(t, analyzer) for t in group],
                     "minimum_should_match": 1}}


def _search_request(query: Query, groups: list[list[str]], analyzer: str | None) -> dict:
    """Keyword arguments for ``Elasticsearch.search`` (``from_`` and ``source`` are the
    client's names for ``from`` and ``_source``)."""
    must = [_group_clause(g, analyzer) for g in groups]
    query_terms = [t for group in groups for t in group]
    by_date = [{"published": {"order": "desc", "missing": "_last"}}, {"id": "desc"}]
    offset, size = _window(query.offset, query.limit)
    request = {
        "query": {"bool": {"must": must}} if must else {"match_all": {}},
        "sort": by_date if query.sort == "date" or not must else ["_score", *by_date],
        "from_": offset,
        "size": size,
        "track_total_hits": True,
        "source": {"includes": ["body"]} if query_terms else False,
    }
    filters = _filter_clauses(query.filters)
    if filters:
        request["post_filter"] = {"bool": {"filter": filters}}
    if query.facets:
        request["aggs"] = _facet_aggs(query)
    return request


def _hits(response, query: Query, query_terms: list[str]) -> Hits:
    found = response["hits"]["hits"]
    ids = [int(hit["_id"]) for hit in found]
    snippets = {}
    if query_terms:
        for doc_id, hit in zip(ids, found, strict=True):
            snippets[doc_id] = snippet(hit.get("_source", {}).get("body") or "", query_terms)
    aggs = response.get("aggregations", {})
    facets = {name: {b["key"]: b["doc_count"] for b in aggs[name]["values"]["buckets"]}
              for name in query.facets}
    return Hits(ids, response["hits"]["total"]["value"], facets, snippets)


def _reason(exc: Exception) -> str:
    if isinstance(exc, helpers.BulkIndexError):
        return f"{len(exc.errors)} document(s) failed, first: {exc.errors[:1]}"
    return str(exc)


@contextmanager
def _answering(action: str) -> Iterator[None]:
    """Server and transport errors, and documents or queries the mapping cannot take
    (ValueError), become SearchUnavailable, as in the embedded engine: the outbox keeps the
    job with the error and the portal falls back to the database."""
    try:
        yield
    except (*_ERRORS, ValueError) as exc:
        raise SearchUnavailable(f"Elasticsearch could not {action}: {_reason(exc)}") from exc


# --- the engine ----------------------------------------------------------------------------


class ElasticEngine(SearchEngine):
    name = "elasticsearch"

    def __init__(self, url: str, *, prefix: str = "portal", analyzer: str | None = None,
                 timeout: float = 5.0):
        if not _PREFIX.fullmatch(prefix):
            raise ValueError(f"index prefix {prefix!r}: use lower-case letters, digits, - and _")
        if analyzer not in (None, "", *PLUGIN_ANALYZERS):
            raise ValueError(f"analyzer {analyzer!r}: leave it unset (CJK bigrams) or use one "
                             f"of {', '.join(PLUGIN_ANALYZERS)}")
        self.prefix = prefix
        self.analyzer = analyzer or None
        # No request is sent here: the client connects on first use. A down server should
        # cost a web request one short timeout, not several retries.
        self.client = Elasticsearch(url, request_timeout=timeout, max_retries=1,
                                    retry_on_timeout=False)

    # --- names ------------------------------------------------------------------------

    def _alias(self, kind: str) -> str:
        if not _KIND.fullmatch(kind):
            raise ValueError(f"content type {kind!r}: use lower-case letters, digits and _")
        return f"{self.prefix}-{kind}-v{MAPPING_VERSION}"

    def _new_index(self, kind: str) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
        return f"{self._alias(kind)}-{stamp}-{uuid.uuid4().hex[:8]}"

    def _own_indexes(self) -> list[str]:
        """Concrete indexes this prefix created, including ones a failed rebuild left behind;
        the exact shape keeps ``portal`` from claiming ``portal-test-…``'s indexes."""
        shape = re.compile(
            rf"{re.escape(self.prefix)}-[a-z][a-z0-9_]*(?:-v\d+)?-\d{{20}}-[0-9a-f]{{8}}")
        resolved = self.client.indices.resolve_index(name=f"{self.prefix}-*",
                                                     expand_wildcards="all")
        return [i["name"] for i in resolved["indices"] if shape.fullmatch(i["name"])]

    def _indexes_behind(self, alias: str) -> list[str]:
        try:
            return list(self.client.indices.get_alias(name=alias).body)
        except NotFoundError:
            return []

    def _create(self, client: Elasticsearch, index: str, alias: str | None = None) -> None:
        client.indices.create(
            index=index, settings=_settings(self.analyzer), mappings=_mappings(self.analyzer),
            aliases={alias: {"is_write_index": True}} if alias else None)

    def _ensure_alias(self, kind: str) -> str:
        """Create the kind's first index on first write. ``is_write_index`` makes a second
        process racing to do the same fail instead of adding a second index to the alias."""
        alias = self._alias(kind)
        if self.client.indices.exists_alias(name=alias):
            return alias
        try:
            self._create(self.client, self._new_index(kind), alias)
        except ApiError:
            if not self.client.indices.exists_alias(name=alias):
                raise
        return alias

    # --- writes -----------------------------------------------------------------------

    def index(self, documents: list[Document]) -> None:
        if not documents:
            return
        with _answering("index documents"):
            aliases = {kind: self._ensure_alias(kind) for kind in {d.kind for d in documents}}
            actions = [{"_op_type": "index", "_index": aliases[d.kind], "_id": str(d.id),
                        "_source": _source(d)} for d in documents]
            # require_alias: never let a write auto-create an index named like the alias.
            helpers.bulk(self.client, actions, refresh="wait_for", require_alias=True)

    def delete(self, kind: str, ids: list[int]) -> None:
        if not ids:
            return
        with _answering("delete documents"):
            alias = self._alias(kind)
            if not self.client.indices.exists_alias(name=alias):
                return  # nothing was ever indexed for this kind
            actions = [{"_op_type": "delete", "_index": alias, "_id": str(i)} for i in ids]
            helpers.bulk(self.client, actions, ignore_status=(404,), refresh="wait_for",
                         require_alias=True)

    def rebuild(self, documents: list[Document]) -> None:
        by_kind: dict[str, list[Document]] = defaultdict(list)
        for doc in documents:
            by_kind[doc.kind].append(doc)
        client = self.client.options(request_timeout=REBUILD_TIMEOUT)
        for kind in sorted(set(KINDS) | set(by_kind)):
            self._rebuild_kind(client, kind, by_kind.get(kind, []))

    def _rebuild_kind(self, client: Elasticsearch, kind: str,
                      documents: Iterable[Document]) -> None:
        with _answering(f"rebuild the {kind!r} index"):
            alias, new = self._alias(kind), self._new_index(kind)
            old = self._indexes_behind(alias)
            self._create(client, new)
            try:
                helpers.bulk(client, ({"_op_type": "index", "_index": new, "_id": str(d.id),
                                       "_source": _source(d)} for d in documents))
                client.indices.refresh(index=new)
                # must_exist: if another rebuild moved the alias meanwhile, fail rather
                # than leave the alias on two indexes.
                actions = [{"remove": {"index": o, "alias": alias, "must_exist": True}}
                           for o in old]
                actions.append({"add": {"index": new, "alias": alias, "is_write_index": True}})
                client.indices.update_aliases(actions=actions)
            except (*_ERRORS, ValueError):
                with suppress(*_ERRORS):
                    client.indices.delete(index=new, ignore_unavailable=True)
                raise
            if old:
                client.indices.delete(index=old, ignore_unavailable=True)

    def drop_all(self) -> None:
        """Delete every index under the prefix (tests). The names are listed and then deleted
        by name, as Elasticsearch 8 refuses wildcard deletes by default."""
        with _answering("drop the indexes"):
            names = self._own_indexes()
            if names:
                self.client.indices.delete(index=names, ignore_unavailable=True)

    # --- reads ------------------------------------------------------------------------

    def search(self, query: Query) -> Hits:
        groups = query.term_groups()
        query_terms = [t for group in groups for t in group]
        empty = Hits([], 0, {name: {} for name in query.facets}, {})
        if not _KIND.fullmatch(query.kind):
            return empty
        with _answering("search"):
            request = _search_request(query, groups, self.analyzer)
            try:
                response = self.client.search(index=self._alias(query.kind), **request)
            except NotFoundError:
                return empty  # nothing indexed for this kind yet
        return _hits(response, query, query_terms)

    def health(self) -> dict:
        aliases = [self._alias(kind) for kind in KINDS]
        try:
            counted = self.client.count(index=aliases, ignore_unavailable=True,
                                        allow_no_indices=True)
        except _ERRORS:
            return {"engine": self.name, "state": "unavailable", "documents": 0}
        if counted["_shards"].get("failed"):
            return {"engine": self.name, "state": "unavailable", "documents": 0}
        documents = counted["count"]
        return {"engine": self.name, "state": "ok" if documents else "empty",
                "documents": documents}
