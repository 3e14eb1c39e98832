"""identity: see README, "Where things live"."""
