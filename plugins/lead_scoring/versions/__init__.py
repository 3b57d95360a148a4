"""Scoring versions: the configurations that went live, their change log and rollback."""
