"""``leadscore bench`` / ``make bench``: how fast the pipeline is at three scales, against a
physical-limit reference (one hand-written DuckDB query) and a pandas peer.

Figures come from runs on this machine, printed as a table and written to
``bench/results.json``; nothing here is a pass/fail test, except that the reference and the
pandas peer must give dbt's scores for every record (otherwise their ratios are INVALID and
the command exits 1). Ratios are computed from pairs measured in the same invocation, so
they hold on a noisy machine.
"""
