"""The embedded engine: tantivy over two-character grams of the original text.

Every title and body is indexed as overlapping bigrams with their positions, so a term of
any length is a phrase of bigrams and matches exactly where the text contains it — the
substring recall Chinese readers expect (土地 inside 土地出让), with BM25 ranking. One-character
terms match any bigram that contains the character. Keyword fields are fast fields:
filters are term queries, facet counts are tantivy aggregations.

tantivy lets one writer hold an index at a time: a second process that wants to write gets
``SearchUnavailable`` and leaves its job in the outbox for later. Readers reload to see
what other processes committed.

The index folder is the node's own: several nodes each keep one. How far a folder has
applied the outbox (its *mark*, a small JSON object the portal defines) is stored as one
more document in the index, so it is committed in the same tantivy commit as the changes it
describes: a crash can never leave a mark ahead of the index.
"""

import json
import re
import shutil
import threading
import time
from datetime import date
from pathlib import Path

import tantivy

from .base import Document, Hits, Query, SearchEngine, SearchUnavailable
from .text import bigrams, normalise, snippet

# Bump when the schema changes: each version has its own folder, so a deployment with an
# older index answers "empty" (and search pages fall back) until `flask search reindex`.
SCHEMA_VERSION = 3
KEYWORD_FIELDS = ("type", "level", "status", "issuer", "topic", "industry", "region", "year",
                  "land_use")
TEXT_FIELDS = {"title": 3.0, "translations": 2.0, "body": 1.0}
WRITER_HEAP = 64_000_000
RELOAD_EVERY = 0.5  # seconds between checks for other processes' commits
WRITER_RETRIES = (0.02, 0.05, 0.1, 0.2, None)  # waits for a busy writer lock, then give up
FACET_SIZE = 500
MARK_KIND = "_mark"  # the kind of the one document that holds the folder's outbox mark
MARK_UID = f"{MARK_KIND}:0"


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("uid", stored=False, tokenizer_name="raw")
    builder.add_text_field("kind", stored=False, tokenizer_name="raw")
    builder.add_integer_field("id", stored=True, indexed=True, fast=True)
    builder.add_integer_field("published", indexed=True, fast=True)
    for name in TEXT_FIELDS:
        builder.add_text_field(name, stored=True, tokenizer_name="raw")
    for name in KEYWORD_FIELDS:
        builder.add_text_field(name, stored=False, tokenizer_name="raw", fast=True)
    return builder.build()


def _tokens(text: str) -> tantivy.PreTokenizedString:
    folded = normalise(text)
    grams = bigrams(folded) if folded else []
    return tantivy.PreTokenizedString(
        text, [tantivy.Token(g, i, i, i + len(g)) for i, g in enumerate(grams)])


def _day_number(value: date | None) -> int:
    return value.toordinal() if value else 0


class EmbeddedEngine(SearchEngine):
    name = "embedded"
    local = True  # a folder per node: the portal checks it is current before each search

    def __init__(self, directory: str):
        self.root = Path(directory)
        self.directory = self.root / f"v{SCHEMA_VERSION}"
        self.schema = _schema()
        self._index: tantivy.Index | None = None
        self._lock = threading.Lock()
        self._reloaded = 0.0
        self._mark: tuple[float, dict | None] | None = None  # (reload time, mark)
        # The last failure to bring this folder up to date, for /healthz (None: none since
        # the last success).
        self.last_catch_up_error: str | None = None

    # --- storage ----------------------------------------------------------------------

    @property
    def idx(self) -> tantivy.Index:
        if self._index is None:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                self._index = tantivy.Index(self.schema, path=str(self.directory), reuse=True)
            except (OSError, ValueError) as exc:
                raise SearchUnavailable(f"cannot open the index: {exc}") from exc
        return self._index

    def _document(self, doc: Document) -> tantivy.Document:
        out = tantivy.Document()
        out.add_text("uid", f"{doc.kind}:{doc.id}")
        out.add_text("kind", doc.kind)
        out.add_integer("id", doc.id)
        out.add_integer("published", _day_number(doc.published))
        out.add_pre_tokenized_text("title", _tokens(doc.title))
        out.add_pre_tokenized_text("body", _tokens(doc.body))
        out.add_pre_tokenized_text("translations", _tokens(doc.translations))
        for name, value in doc.fields.items():
            if name not in KEYWORD_FIELDS:
                raise ValueError(f"unknown keyword field {name!r}")
            for item in value if isinstance(value, list) else [value]:
                if item not in (None, ""):
                    out.add_text(name, str(item))
        return out

    def _writer(self) -> tantivy.IndexWriter:
        """The index writer; another process holds it for milliseconds at a time, so wait a
        little before giving up."""
        for delay in WRITER_RETRIES:
            try:
                return self.idx.writer(heap_size=WRITER_HEAP, num_threads=1)
            except ValueError as exc:  # LockBusy: another process is writing
                if delay is None:
                    raise SearchUnavailable(f"index is locked by another writer: {exc}") from exc
                time.sleep(delay)
        raise AssertionError("unreachable")

    def _write(self, documents=(), delete_uids=(), delete_kinds=(), mark=None) -> None:
        with self._lock:
            self._commit([self._writer()], documents, delete_uids, delete_kinds, mark)

    def _commit(self, held: list, documents=(), delete_uids=(), delete_kinds=(), mark=None
                ) -> None:
        """One commit; ``mark`` (when not None) replaces the folder's mark in it. The
        caller holds ``self._lock`` and passes the writer in ``held``, its only reference,
        which is dropped here (that releases the lock file, even when the commit fails and
        a traceback keeps this frame)."""
        writer = held.pop()
        try:
            for kind in delete_kinds:
                writer.delete_documents_by_term("kind", kind)
            for uid in delete_uids:
                writer.delete_documents_by_term("uid", uid)
            for doc in documents:
                writer.delete_documents_by_term("uid", f"{doc.kind}:{doc.id}")
                writer.add_document(self._document(doc))
            if mark is not None:
                writer.delete_documents_by_term("uid", MARK_UID)
                writer.add_document(self._mark_document(mark))
            writer.commit()
            writer.wait_merging_threads()
        except (OSError, ValueError) as exc:
            raise SearchUnavailable(f"index write failed: {exc}") from exc
        finally:
            del writer  # releases the lock file
        self.idx.reload()
        self._reloaded = time.monotonic()

    # --- the folder's outbox mark -----------------------------------------------------

    def _mark_document(self, mark: dict) -> tantivy.Document:
        out = tantivy.Document()
        out.add_text("uid", MARK_UID)
        out.add_text("kind", MARK_KIND)
        out.add_integer("id", 0)
        out.add_pre_tokenized_text("body", tantivy.PreTokenizedString(json.dumps(mark), []))
        return out

    def _read_mark(self, searcher: tantivy.Searcher) -> dict | None:
        found = searcher.search(tantivy.Query.term_query(self.schema, "kind", MARK_KIND),
                                limit=1).hits
        if not found:
            return None
        return json.loads(searcher.doc(found[0][1]).get_first("body") or "null")

    def mark(self) -> dict | None:
        """The mark committed with the index as this process last reloaded it (at most
        RELOAD_EVERY old); None for a folder never built with one."""
        try:
            searcher = self._searcher()
            if self._mark is None or self._mark[0] != self._reloaded:
                self._mark = (self._reloaded, self._read_mark(searcher))
        except ValueError as exc:
            raise SearchUnavailable(str(exc)) from exc
        return self._mark[1]

    def apply(self, step, wait: float | None = None) -> object:
        """Bring the folder forward under its writer: ``step(mark)`` gets the mark as
        committed now (no other thread or process can change it meanwhile) and answers
        None (nothing to do) or ``(documents, deletes, mark, rebuild, result)``, with
        ``deletes`` a list of (kind, id); ``rebuild`` replaces the whole index. Returns
        ``result`` (None when there was nothing to do).

        ``wait``: how long to wait for another thread of this process that is writing;
        past it, SearchUnavailable (None: as long as it takes).
        """
        if not self._lock.acquire(timeout=-1 if wait is None else wait):
            raise SearchUnavailable("another thread of this process is updating the index")
        held = []
        try:
            held.append(self._writer())
            self.idx.reload()
            self._reloaded = time.monotonic()
            plan = step(self._read_mark(self.idx.searcher()))
            if plan is None:
                return None
            documents, deletes, mark, rebuild, result = plan
            kinds = sorted({d.kind for d in documents} | {"policy", "site", "opportunity"})
            self._commit(held, documents, [f"{k}:{i}" for k, i in deletes],
                         kinds if rebuild else (), mark)
        finally:
            held.clear()  # the writer, if the commit was not reached: releases the lock file
            self._lock.release()
        if rebuild:
            self._remove_old_versions()
        return result

    def index(self, documents: list[Document]) -> None:
        if documents:
            self._write(documents=documents)

    def delete(self, kind: str, ids: list[int]) -> None:
        if ids:
            self._write(delete_uids=[f"{kind}:{i}" for i in ids])

    def rebuild(self, documents: list[Document]) -> None:
        kinds = sorted({d.kind for d in documents} | {"policy", "site", "opportunity"})
        self._write(documents=documents, delete_kinds=kinds)
        self._remove_old_versions()

    def _remove_old_versions(self) -> None:
        """The index folder is the engine's own: what is not the current version goes."""
        for path in self.root.iterdir():
            if path == self.directory:
                continue
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

    # --- queries ----------------------------------------------------------------------

    def _term_query(self, term: str) -> tantivy.Query:
        grams = bigrams(term)
        per_field = []
        for name, boost in TEXT_FIELDS.items():
            if len(term) == 1:
                q = tantivy.Query.regex_query(self.schema, name, f".*{re.escape(term)}.*")
            elif len(grams) == 1:
                q = tantivy.Query.term_query(self.schema, name, grams[0])
            else:
                q = tantivy.Query.phrase_query(self.schema, name, grams)
            per_field.append((tantivy.Occur.Should, tantivy.Query.boost_query(q, boost)))
        return tantivy.Query.boolean_query(per_field)

    def _filter_query(self, name: str, values: list[str]) -> tantivy.Query:
        if name not in KEYWORD_FIELDS:
            raise ValueError(f"unknown filter field {name!r}")
        return tantivy.Query.boolean_query([
            (tantivy.Occur.Should, tantivy.Query.term_query(self.schema, name, str(v)))
            for v in values])

    def _group_query(self, group: list[str]) -> tantivy.Query:
        if len(group) == 1:
            return self._term_query(group[0])
        return tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, self._term_query(t)) for t in group])

    def _query(self, kind: str, groups: list[list[str]], filters: dict) -> tantivy.Query:
        clauses = [(tantivy.Occur.Must, tantivy.Query.term_query(self.schema, "kind", kind))]
        clauses += [(tantivy.Occur.Must, self._group_query(g)) for g in groups]
        clauses += [(tantivy.Occur.Must, self._filter_query(n, v))
                    for n, v in filters.items() if v]
        return tantivy.Query.boolean_query(clauses)

    def _searcher(self) -> tantivy.Searcher:
        now = time.monotonic()
        if now - self._reloaded > RELOAD_EVERY:
            self.idx.reload()
            self._reloaded = now
        return self.idx.searcher()

    def search(self, query: Query) -> Hits:
        self.ready()
        groups = query.term_groups()
        query_terms = [t for group in groups for t in group]
        try:
            searcher = self._searcher()
            main = self._query(query.kind, groups, query.filters)
            if query.sort == "date" or not query_terms:
                result = searcher.search(main, limit=query.limit, offset=query.offset,
                                         count=True, order_by_field="published")
            else:
                result = searcher.search(main, limit=query.limit, offset=query.offset,
                                         count=True)
            addresses = [address for _key, address in result.hits]
            ids = searcher.fast_field_values("id", addresses) if addresses else []
            facets = self._facets(searcher, query, groups, main)
            snippets = {}
            if query_terms:
                for doc_id, address in zip(ids, addresses, strict=True):
                    body = searcher.doc(address).get_first("body") or ""
                    snippets[doc_id] = snippet(body, query_terms)
        except ValueError as exc:
            raise SearchUnavailable(str(exc)) from exc
        return Hits(list(ids), result.count or 0, facets, snippets)

    def _facets(self, searcher, query: Query, groups, main) -> dict[str, dict[str, int]]:
        if not query.facets:
            return {}
        spec = {"size": FACET_SIZE}
        shared = [f for f in query.facets if not query.filters.get(f)]
        out: dict[str, dict[str, int]] = {}
        if shared:
            aggs = searcher.aggregate(main, {f: {"terms": {"field": f, **spec}} for f in shared})
            for f in shared:
                out[f] = {b["key"]: b["doc_count"] for b in aggs[f]["buckets"]}
        for f in query.facets:
            if f in out:
                continue
            others = {k: v for k, v in query.filters.items() if k != f}
            q = self._query(query.kind, groups, others)
            aggs = searcher.aggregate(q, {f: {"terms": {"field": f, **spec}}})
            out[f] = {b["key"]: b["doc_count"] for b in aggs[f]["buckets"]}
        return out

    def health(self) -> dict:
        try:
            documents = self._searcher().num_docs
            built = self.mark() is not None
        except (SearchUnavailable, ValueError):
            return {"engine": self.name, "state": "unavailable", "documents": 0}
        # A folder built with a mark holds what the database holds, even nothing.
        return {"engine": self.name, "state": "ok" if documents else "empty",
                "documents": documents - (1 if built else 0)}
