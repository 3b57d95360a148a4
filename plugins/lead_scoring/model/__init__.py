"""The learned points table: features known at a point in time, a leak guard, a time-based
split, optimal binning and a logistic regression scaled to points (a credit scorecard), with a
gradient-boosting yardstick reported beside it.

- ``train``: from a person-day frame (one row per person and scoring day, the features as
  known that day, the label) to a ``TrainedModel``: points per bin, validation metrics,
  calibration, the features used and refused.
- ``store``: the model's versions and points in ``ops.model_versions`` / ``ops.model_points``.
"""
