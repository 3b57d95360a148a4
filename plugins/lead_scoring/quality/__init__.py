"""Data quality: Great Expectations suites (JSON in expectations/) run on DataFrames."""
