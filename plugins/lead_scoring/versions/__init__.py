"""Scoring changes shipped safely: the versions that went live, their change log and
rollback, and shadow scoring of a challenger."""
