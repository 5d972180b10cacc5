"""The audit trail viewer for admins: filters by user, action, ticket and date; CSV export."""

from flask import Blueprint

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")
