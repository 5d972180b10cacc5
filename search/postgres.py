"""The PostgreSQL engine: one table in the portal's own database, shared by every node.

Each document is a row of ``search_entry``. Its title, translations and body are stored folded
(``search.text.normalise``: NFKC, lower case) next to the original body, which snippets are cut
from. ``grams`` holds every distinct character and two-character gram of the folded texts,
under a GIN index. A term of one or two characters is one gram, so the index answers it
exactly; a longer term must have all its grams, and ``strpos`` on the folded texts keeps only
the rows that hold it whole. That gives the embedded engine's exact substring semantics: 土地
finds every text containing 土地 (inside 土地出让 too), 标准地 never matches 标准 … 准地
apart, and Latin, digits and emoji are substrings like any other characters.

One statement answers a search: the matching rows are computed once (a CTE), then the page,
the total and the facet counts are read from them. Ranking is coarser than the embedded
engine's BM25: each term scores 1, plus 3 when the title holds it and 2 when the translations
do; ties go to the newest. Term frequency and document length are not counted (reading every
matching body to count would cost more than the rest of the search).

``rebuild`` loads and indexes a fresh table and puts it in the old one's place, in one
transaction: searches answer from the old rows until it commits. The table is created by the
portal's migrations (0015); on any other database than PostgreSQL every call raises
``SearchUnavailable``.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.exc import SQLAlchemyError

from .base import Document, Hits, Query, SearchEngine, SearchUnavailable
from .embedded import KEYWORD_FIELDS
from .text import bigrams, normalise, snippet

TEXT_COLUMNS = ("title_folded", "translations_folded", "body_folded")
BATCH = 500  # rows per INSERT while loading
SWAP_LOCK_TIMEOUT = "2s"  # how long rebuild waits to put its table in place
# Grams travel to the server as one string split there: binding thousands of array elements
# per row costs more than the rest of the load. Folded text holds no control characters.
GRAM_SEPARATOR = "\x1f"
# The kind is one more key of the gram index (control characters never occur in folded
# text), so a search asks one index for "this kind and these grams". With kind in a
# separate condition the planner walks a kind's rows and checks each row's gram array, which
# is thousands of elements stored out of line: a hundred times slower.
KIND_MARK = "\x01"

# The table the migration creates; portal.models.search puts a copy in the portal's metadata.
# JSON stands in for the PostgreSQL types on SQLite, where the table stays empty.
metadata = sa.MetaData()
SEARCH_ENTRY = sa.Table(
    "search_entry", metadata,
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("id", sa.Integer(), nullable=False, autoincrement=False),
    sa.Column("title_folded", sa.Text(), nullable=False),
    sa.Column("translations_folded", sa.Text(), nullable=False),
    sa.Column("body_folded", sa.Text(), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    # Keyword fields as "name:value" (topic:land): filters are an overlap, facets an unnest,
    # several times faster than the same work on JSONB.
    sa.Column("keywords", ARRAY(sa.Text()).with_variant(sa.JSON(), "sqlite"), nullable=False),
    sa.Column("published", sa.Date(), nullable=True),
    # Collation "C" compares bytes: building the index over the locale's collation costs
    # three times as long, and grams have no order a reader sees.
    sa.Column("grams", ARRAY(sa.Text(collation="C")).with_variant(sa.JSON(), "sqlite"),
              nullable=False),
    sa.PrimaryKeyConstraint("kind", "id", name="pk_search_entry"),
    sa.Index("ix_search_entry_grams", "grams", postgresql_using="gin"),
)


def _clean(text: str) -> str:
    """PostgreSQL text cannot hold NUL."""
    return (text or "").replace("\x00", "")


def _grams(kind: str, *texts: str) -> str:
    """The kind's key, every distinct character and two-character gram of ``texts``, joined."""
    found: set[str] = {KIND_MARK + kind}
    for text in texts:
        found.update(text)
        if len(text) > 1:
            found.update(bigrams(text))
    return GRAM_SEPARATOR.join(sorted(found))


def _keys(kind: str, term: str) -> list[str]:
    """The keys a row of ``kind`` must have to hold ``term``."""
    return [KIND_MARK + kind, *([term] if len(term) == 1 else sorted(set(bigrams(term))))]


def _values(value) -> list[str]:
    return [str(v) for v in (value if isinstance(value, list) else [value]) if v not in (None, "")]


def _row(doc: Document) -> dict:
    for name in doc.fields:
        if name not in KEYWORD_FIELDS:
            raise ValueError(f"unknown keyword field {name!r}")
    folded = {"title_folded": normalise(_clean(doc.title)),
              "translations_folded": normalise(_clean(doc.translations)),
              "body_folded": normalise(_clean(doc.body))}
    return {"kind": doc.kind, "id": doc.id, **folded, "body": _clean(doc.body),
            "keywords": [f"{name}:{v}" for name, value in doc.fields.items()
                         for v in _values(value)],
            "published": doc.published, "gram_list": _grams(doc.kind, *folded.values())}


class _Statement:
    """A search statement under construction: SQL fragments and their bound values.

    Fragments name only columns, the table and bound parameters; every value a visitor typed
    is bound (hence the ``noqa: S608`` on the statements built from them).
    """

    def __init__(self):
        self.params: dict = {}

    def bind(self, value, cast: str = "") -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"CAST(:{name} AS {cast})" if cast else f":{name}"

    def term(self, kind: str, term: str) -> tuple[str, str]:
        """(condition, score) of one term.

        A term of one or two characters is one gram: the index alone answers exactly. A
        longer term's grams can be apart in the text, so ``strpos`` confirms it whole,
        titles first (short and stored in the row) and the body last.
        """
        keys = self.bind(_keys(kind, term), "text[]") + ' COLLATE "C"'
        value = self.bind(term, "text")
        condition = f"grams @> {keys}"
        if len(term) > 2:
            found = " OR ".join(f"strpos({col}, {value}) > 0" for col in TEXT_COLUMNS)
            condition = f"({condition} AND ({found}))"
        score = (f"1 + 3 * (strpos(title_folded, {value}) > 0)::int"
                 f" + 2 * (strpos(translations_folded, {value}) > 0)::int")
        return condition, score

    def filters(self, filters: dict[str, list[str]], leave_out: str | None = None) -> str:
        clauses = []
        for name, values in filters.items():
            if name not in KEYWORD_FIELDS:
                raise ValueError(f"unknown filter field {name!r}")
            if values and name != leave_out:
                wanted = [f"{name}:{v}" for v in values]
                clauses.append(f"keywords && {self.bind(wanted, 'text[]')}")
        return " AND ".join(clauses) or "TRUE"


def _search_sql(table: str, query: Query, groups: list[list[str]]) -> tuple[str, dict]:
    """One statement whose rows are ('total', -, -, n), ('hit', id, body, place),
    ('shared', "field:value", -, n) counted under every filter, and ('facet', "field:value",
    -, n) for a filtered field, counted under the other filters."""
    for name in query.facets:
        if name not in KEYWORD_FIELDS:
            raise ValueError(f"unknown facet field {name!r}")
    st = _Statement()
    conditions, scores = [], []
    for group in groups:
        terms = [_term for t in group if (_term := normalise(t))]
        if not terms:
            continue
        pairs = [st.term(query.kind, t) for t in terms]
        conditions.append("(" + " OR ".join(c for c, _s in pairs) + ")")
        scores += [s for _c, s in pairs]
    if not conditions:  # no text: every row of the kind
        conditions.append(f"kind = {st.bind(query.kind)}")
    by_date = "published DESC NULLS LAST, id DESC"
    order = by_date if query.sort == "date" or not scores else f"score DESC, {by_date}"
    score = " + ".join(f"({s})" for s in scores) or "0"
    offset, limit = max(0, query.offset), max(0, query.limit)
    parts = [
        "SELECT 'total'::text, NULL::text, NULL::text, count(*) FROM chosen",
        # The body (for snippets) is read for the page's rows only.
        f"SELECT 'hit', r.id::text, (SELECT body FROM {table} e"  # noqa: S608 (see _Statement)
        f"  WHERE e.kind = {st.bind(query.kind)} AND e.id = r.id), r.place FROM ("
        f"  SELECT id, row_number() OVER (ORDER BY {order}) AS place FROM chosen) r"
        f"  WHERE r.place > {st.bind(offset, 'bigint')}"
        f"  AND r.place <= {st.bind(offset + limit, 'bigint')}",
    ]
    shared = [f for f in query.facets if not query.filters.get(f)]
    if shared:  # every keyword is counted; search() keeps the shared facets' counts
        parts.append("SELECT 'shared', k, NULL, count(*) FROM chosen,"
                     " unnest(chosen.keywords) k GROUP BY k")
    for name in query.facets:
        if name in shared:
            continue
        parts.append(
            "SELECT 'facet', k, NULL, count(*) FROM matched, unnest(matched.keywords) k"  # noqa: S608
            f"  WHERE split_part(k, ':', 1) = {st.bind(name, 'text')}"
            f"  AND {st.filters(query.filters, leave_out=name)} GROUP BY k")
    sql = (f"WITH matched AS MATERIALIZED (SELECT id, keywords, published, {score} AS score"  # noqa: S608
           f"  FROM {table} WHERE {' AND '.join(conditions)}),"
           f" chosen AS MATERIALIZED (SELECT * FROM matched WHERE {st.filters(query.filters)}) "
           + " UNION ALL ".join(parts))
    return sql, st.params


@contextmanager
def _answering(action: str) -> Iterator[None]:
    """Database errors (the server down, the table missing), and documents or queries naming
    an unknown field (ValueError), become SearchUnavailable: the outbox keeps the job and the
    portal falls back to the database, as with the other engines."""
    try:
        yield
    except (SQLAlchemyError, ValueError) as exc:
        raise SearchUnavailable(f"PostgreSQL could not {action}: {exc}") from exc


class PostgresEngine(SearchEngine):
    name = "postgres"

    def __init__(self, url_or_engine: str | sa.Engine, *, schema: str | None = None):
        # No connection is made here: the pool connects on first use.
        self.engine = (url_or_engine if isinstance(url_or_engine, sa.Engine)
                       else sa.create_engine(url_or_engine, pool_pre_ping=True))
        self.table = SEARCH_ENTRY.to_metadata(sa.MetaData(), schema=schema)
        self._schema = f'"{schema}".' if schema else ""
        self._from = f"{self._schema}search_entry"
        # Where rebuild loads the rows before it takes the table's place.
        self._next = self.table.to_metadata(sa.MetaData(), name="search_entry_next")

    def _check(self) -> None:
        dialect = self.engine.dialect.name
        if dialect != "postgresql":
            raise SearchUnavailable(f"PORTAL_SEARCH=postgres needs a PostgreSQL database, "
                                    f"not {dialect}: set PORTAL_DATABASE_URL or choose "
                                    f"another engine")

    def create_table(self) -> None:
        """For a schema the migrations do not manage (tests); the portal's table comes from
        migration 0015."""
        self._check()
        with _answering("create the table"):
            self.table.create(self.engine, checkfirst=True)

    def dispose(self) -> None:
        self.engine.dispose()

    # --- writes -----------------------------------------------------------------------

    @staticmethod
    def _insert(table: sa.Table):
        return insert(table).values(grams=sa.func.string_to_array(
            sa.bindparam("gram_list"), sa.literal(GRAM_SEPARATOR)))

    def _upsert(self, conn: sa.Connection, rows: list[dict]) -> None:
        statement = self._insert(self.table)
        statement = statement.on_conflict_do_update(
            index_elements=["kind", "id"],
            set_={c.name: statement.excluded[c.name] for c in self.table.columns
                  if c.name not in ("kind", "id")})
        for start in range(0, len(rows), BATCH):
            conn.execute(statement, rows[start:start + BATCH])

    def index(self, documents: list[Document]) -> None:
        if not documents:
            return
        self._check()
        with _answering("index documents"):
            rows = [_row(d) for d in documents]
            with self.engine.begin() as conn:
                self._upsert(conn, rows)

    def delete(self, kind: str, ids: list[int]) -> None:
        if not ids:
            return
        self._check()
        with _answering("delete documents"), self.engine.begin() as conn:
            conn.execute(self.table.delete().where(self.table.c.kind == kind,
                                                   self.table.c.id.in_(ids)))

    def rebuild(self, documents: list[Document]) -> None:
        """Load a new table, index it, and put it in the old one's place, in one transaction.

        Filling an indexed table costs several times more than indexing a full one. Searches
        read the old table until the swap at the end, which locks it for milliseconds. An
        ``index`` or ``delete`` that commits while the rebuild loads is lost with the old
        table: rebuild while writes are quiet, or drain the outbox again afterwards. When a
        long reader (a backup) holds the old table past ``SWAP_LOCK_TIMEOUT``, the rebuild
        gives up (``SearchUnavailable``) and the old rows stay. The portal's database role
        must own the table (it does when it ran the migrations).
        """
        self._check()
        s, old, new = self._schema, self._from, self._next.name
        with _answering("rebuild the index"):
            rows = list({(d.kind, d.id): _row(d) for d in documents}.values())
            with self.engine.begin() as conn:
                conn.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
                conn.execute(sa.text(f"CREATE TABLE {s}{new} (LIKE {old} INCLUDING DEFAULTS)"))
                for start in range(0, len(rows), BATCH):
                    conn.execute(self._insert(self._next), rows[start:start + BATCH])
                for statement in (
                        f"ALTER TABLE {s}{new} ADD CONSTRAINT pk_{new} PRIMARY KEY (kind, id)",
                        f"CREATE INDEX ix_{new}_grams ON {s}{new} USING gin (grams)",
                        # Searches queue behind the swap's lock: if a long reader (pg_dump)
                        # holds the old table, give up rather than stall them.
                        f"SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT}'",
                        f"DROP TABLE {old}",
                        f"ALTER TABLE {s}{new} RENAME TO search_entry",
                        f"ALTER TABLE {old} RENAME CONSTRAINT pk_{new} TO pk_search_entry",
                        f"ALTER INDEX {s}ix_{new}_grams RENAME TO ix_search_entry_grams"):
                    conn.execute(sa.text(statement))
            # Fresh statistics, or the planner misjudges the gram index.
            with self.engine.begin() as conn:
                conn.execute(sa.text(f"ANALYZE {old}"))

    # --- reads ------------------------------------------------------------------------

    def search(self, query: Query) -> Hits:
        self._check()
        groups = query.term_groups()
        query_terms = [normalise(t) for group in groups for t in group if normalise(t)]
        with _answering("search"), self.engine.begin() as conn:
            sql, params = _search_sql(self._from, query, groups)
            # Checking the grams of a row costs far more than the planner thinks (the array
            # is thousands of elements out of line): let the index always answer.
            conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
            rows = conn.execute(sa.text(sql), params).all()
        total, hits, facets = 0, [], {name: {} for name in query.facets}
        shared = {name for name in query.facets if not query.filters.get(name)}
        for part, key, value, n in rows:
            if part == "total":
                total = n
            elif part == "hit":
                hits.append((n, int(key), value))
            else:
                name, _colon, value = key.partition(":")
                if name in (shared if part == "shared" else facets):
                    facets[name][value] = n
        hits.sort()
        snippets = {i: snippet(body, query_terms) for _n, i, body in hits} if query_terms else {}
        return Hits([i for _n, i, _body in hits], total, facets, snippets)

    def health(self) -> dict:
        try:
            self._check()
            with self.engine.connect() as conn:
                documents = conn.execute(sa.select(sa.func.count()).select_from(self.table)
                                         ).scalar_one()
        except (SearchUnavailable, SQLAlchemyError):
            return {"engine": self.name, "state": "unavailable", "documents": 0}
        return {"engine": self.name, "state": "ok" if documents else "empty",
                "documents": documents}
