"""sso: see README, "Where things live"."""
