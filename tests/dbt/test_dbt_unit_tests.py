"""Every dbt unit test of the project (``unit_tests:`` in the models' YAML) passes.

dbt needs the unit-tested models' parents to exist to know their columns, so the project is
first built empty (``--empty``: every model and seed with its columns, no rows) in a
throw-away warehouse; then ``dbt test --select test_type:unit`` runs the unit tests alone.
Part of ``make test-fast``.
"""

from __future__ import annotations

from datetime import datetime

from lead_scoring import warehouse
from lead_scoring.dbt_runner import run_dbt

AS_OF = datetime(2026, 11, 1, 10)


def test_every_dbt_unit_test_passes(settings):
    with warehouse.connect(settings.warehouse) as con:
        warehouse.ensure_schema(con)
    run_dbt(settings, ["build", "--empty", "--exclude-resource-type", "test", "unit_test"], AS_OF)

    results = run_dbt(settings, ["test", "--select", "test_type:unit"], AS_OF)

    unit_tests = [r for r in results if r["node"].startswith("unit_test.")]
    assert len(unit_tests) >= 20, f"expected the project's unit tests, ran {len(unit_tests)}"
    assert all(r["status"] == "pass" for r in unit_tests), [r for r in unit_tests if r["status"] != "pass"]
