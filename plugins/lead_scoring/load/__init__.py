"""Load: typed, validated, idempotent inserts into the raw DuckDB schemas."""
