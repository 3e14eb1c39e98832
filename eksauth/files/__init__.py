"""files: see README, "Where things live"."""
