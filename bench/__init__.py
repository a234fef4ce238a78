"""`make bench`: a synthetic county and the measurements of issue 7 (see README, Performance)."""
