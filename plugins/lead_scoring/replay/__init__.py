"""Point-in-time replay of the scoring models over past days (backtest and model training)."""
