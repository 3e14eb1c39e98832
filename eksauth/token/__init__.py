"""token: see README, "Where things live"."""
