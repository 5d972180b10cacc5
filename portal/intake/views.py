"""需求对接 and 投诉: intake of investor demands and complaints."""

from flask import Blueprint

bp = Blueprint("intake", __name__, url_prefix="/<lang:lang>")
