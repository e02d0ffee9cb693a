"""Shopper calibration in the product (issue 13): fair store scores for mystery shops.

`app.domain.calibration` holds the maths (pure). This package runs it and serves it:

- `compute`: the background job `calibrate(stage, start, end)` reads a period's approved
  mystery shops in one query, fits every touchpoint and the overall score, and replaces the
  period's stored fit in one transaction; `request` enqueues it (at most one waiting per
  period) and `refresh_after` asks for the fits a review or an appeal made stale.
- `queries`: what views read (a couple of indexed queries): the stored fit of a period, the
  calibrated league, heat-map cells, weakest stores, variance components, shoppers.
- `views`: the admins' planner and "about these numbers" page, the reviewers' shopper quality.

A view never fits: without a stored fit it shows the raw shrunken figures and says that the
calibration is being computed.
"""
