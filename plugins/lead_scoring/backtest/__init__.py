"""Backtesting a scoring change: replay history day by day (``run``), with point-in-time raw
data (``history``), and score the result (``metrics``)."""
