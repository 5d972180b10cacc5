"""The postgres search engine's table, in the portal's metadata so that migrations and their
test see it. ``search.postgres`` defines it and is its only reader and writer; on SQLite it
stays empty."""

from portal.extensions import db
from search.postgres import SEARCH_ENTRY

search_entry = SEARCH_ENTRY.to_metadata(db.metadata)
