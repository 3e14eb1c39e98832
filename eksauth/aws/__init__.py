"""aws: see README, "Where things live"."""
