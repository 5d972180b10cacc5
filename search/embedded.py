"""The embedded engine: tantivy with a 2-gram tokenizer over the original text.

Bigrams find every substring of two or more characters, in Chinese as in Latin text, and
snippets are cut from the original text. tantivy's n-gram tokenizer gives every gram the same
position, so a longer term matches as "all its bigrams occur" — full recall, and a precision
that is good for policy text but not exact. One process writes at a time (tantivy holds a lock);
readers reload to see new commits.
"""

import re
import threading
from pathlib import Path

import tantivy

from .base import Document, Hits, SearchEngine, SearchUnavailable

TOKENIZER = "bigram"
FIELDS = ("title", "body")
WRITER_HEAP = 50_000_000


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("uid", stored=True, tokenizer_name="raw")
    builder.add_text_field("kind", stored=True, tokenizer_name="raw")
    builder.add_integer_field("id", stored=True, indexed=True, fast=True)
    for name in FIELDS:
        builder.add_text_field(name, stored=True, tokenizer_name=TOKENIZER)
    return builder.build()


def bigrams(text: str) -> list[str]:
    text = text.lower()
    return [text[i:i + 2] for i in range(len(text) - 1)]


class EmbeddedEngine(SearchEngine):
    name = "embedded"

    def __init__(self, directory: str):
        self.directory = Path(directory)
        self.schema = _schema()
        self._index = None
        self._lock = threading.Lock()

    @property
    def idx(self) -> tantivy.Index:
        if self._index is None:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                index = tantivy.Index(self.schema, path=str(self.directory), reuse=True)
            except (OSError, ValueError) as exc:
                raise SearchUnavailable(str(exc)) from exc
            analyzer = (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.ngram(2, 2))
                        .filter(tantivy.Filter.lowercase()).build())
            index.register_tokenizer(TOKENIZER, analyzer)
            self._index = index
        return self._index

    def _write(self, documents: list[Document], delete_kinds=(), delete_uids=()) -> None:
        with self._lock:
            try:
                writer = self.idx.writer(heap_size=WRITER_HEAP, num_threads=1)
            except ValueError as exc:  # another process holds the writer lock
                raise SearchUnavailable(str(exc)) from exc
            try:
                for kind in delete_kinds:
                    writer.delete_documents_by_term("kind", kind)
                for uid in delete_uids:
                    writer.delete_documents_by_term("uid", uid)
                for doc in documents:
                    uid = f"{doc.kind}:{doc.id}"
                    writer.delete_documents_by_term("uid", uid)
                    writer.add_document(tantivy.Document(
                        uid=uid, kind=doc.kind, id=doc.id, title=doc.title, body=doc.body))
                writer.commit()
            finally:
                writer.wait_merging_threads()
            self.idx.reload()

    def index(self, documents: list[Document]) -> None:
        self._write(documents)

    def delete(self, kind: str, ids: list[int]) -> None:
        self._write([], delete_uids=[f"{kind}:{i}" for i in ids])

    def rebuild(self, documents: list[Document]) -> None:
        kinds = {d.kind for d in documents} | {"policy", "site", "opportunity"}
        self._write(documents, delete_kinds=sorted(kinds))

    def _text_query(self, query: str) -> tantivy.Query | None:
        clauses = []
        for term in query.split():
            per_field = []
            for name in FIELDS:
                grams = bigrams(term)
                if len(grams) > 1:
                    q = tantivy.Query.phrase_query(self.schema, name, [(0, g) for g in grams])
                elif grams:
                    q = tantivy.Query.term_query(self.schema, name, grams[0])
                else:  # one character: any bigram that contains it
                    q = tantivy.Query.regex_query(self.schema, name, f".*{re.escape(term)}.*")
                boost = 3.0 if name == "title" else 1.0
                per_field.append((tantivy.Occur.Should, tantivy.Query.boost_query(q, boost)))
            clauses.append((tantivy.Occur.Must, tantivy.Query.boolean_query(per_field)))
        return tantivy.Query.boolean_query(clauses) if clauses else None

    def search(self, kind: str, query: str, *, offset: int = 0, limit: int = 20) -> Hits:
        text = self._text_query(query.lower())
        if text is None:
            return Hits([], 0)
        full = tantivy.Query.boolean_query([
            (tantivy.Occur.Must, tantivy.Query.term_query(self.schema, "kind", kind)),
            (tantivy.Occur.Must, text),
        ])
        try:
            self.idx.reload()
            searcher = self.idx.searcher()
            result = searcher.search(full, limit=limit, offset=offset, count=True)
            snippet = tantivy.SnippetGenerator.create(searcher, text, self.schema, "body")
            snippet.set_max_num_chars(160)
        except ValueError as exc:
            raise SearchUnavailable(str(exc)) from exc
        ids, snippets = [], {}
        for _score, address in result.hits:
            doc = searcher.doc(address)
            doc_id = doc["id"][0]
            ids.append(doc_id)
            snippets[doc_id] = snippet.snippet_from_doc(doc).to_html()
        return Hits(ids, result.count or 0, snippets)

    def health(self) -> dict:
        try:
            self.idx.reload()
            documents = self.idx.searcher().num_docs
        except SearchUnavailable:
            return {"engine": self.name, "state": "unavailable", "documents": 0}
        return {"engine": self.name, "state": "ok" if documents else "empty",
                "documents": documents}
