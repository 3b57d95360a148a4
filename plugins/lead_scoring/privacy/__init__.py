"""Personal-data handling: erasure requests."""
