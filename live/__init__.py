"""Live series on the server side: points, series, the ingest policy and the scoring worker."""
