"""The ``id`` URL converter for every route that names a record by its number.

Ids are PostgreSQL ``INTEGER`` (4 bytes), so a number outside 1..2^31-1 names nothing. Such a
path does not match the route at all and answers 404, as an unknown id does, instead of
reaching the database, where 2^63 and above overflow the driver (a 500). Only ASCII digits
match: ``\\d`` would also take other scripts' digits, which ``int()`` reads as the same number.
"""

from werkzeug.routing import IntegerConverter, Map

MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    regex = r"[0-9]{1,10}"

    def __init__(self, map: Map) -> None:
        super().__init__(map, min=1, max=MAX_ID)
