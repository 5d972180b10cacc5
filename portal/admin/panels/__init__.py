"""Panels of the staff ticket page (see portal.admin.ticket_page)."""
