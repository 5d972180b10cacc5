"""Following a ticket with its access code."""

from flask import Blueprint

bp = Blueprint("tracking", __name__, url_prefix="/<lang:lang>")
