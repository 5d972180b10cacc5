"""Policy alerts: e-mail subscriptions to new policies matching a search, double opt-in."""
