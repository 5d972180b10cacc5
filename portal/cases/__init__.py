"""The ticket domain that the public pages, the staff pages and the API share: deadlines,
owners, routing, transfers, replies, confidentiality, repeats, projects and the figures drawn
from them. Nothing here imports a view module."""
