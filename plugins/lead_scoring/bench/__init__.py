"""``leadscore bench`` / ``make bench``: how fast the pipeline is at three scales, against a
physical-limit reference (one hand-written DuckDB query) and a pandas peer.

Figures come from runs on this machine, printed as a table and written to
``bench/results.json``; nothing here is a pass/fail test. Ratios are computed from pairs
measured in the same invocation, so they hold on a noisy machine.
"""
