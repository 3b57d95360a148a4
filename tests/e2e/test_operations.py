"""Operating it: failures name the stage and the fix, status reports runs, and the
docker-compose deployment is consistent with the project (parsed: no Docker engine here)."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from lead_scoring import warehouse
from lead_scoring.failures import failure_hint
from tests.support import REPO


def test_a_failed_stage_is_recorded_with_its_fix(settings, capsys):
    from lead_scoring.cli import main
    from lead_scoring.status import overall_status

    # salesforce source, no connection configured and no sandbox running
    assert main(["run", "--as-of", "2026-11-01T10:00:00", "--run-id", "broken"]) == 1
    err = capsys.readouterr().err
    assert "failed in stage extract_crm" in err and "salesforce_default" in err
    with warehouse.connect(settings.warehouse) as con:
        status, summary = con.execute(
            "select status, summary from ops.runs where run_id = 'broken'"
        ).fetchall()[0]
    assert status == "failed"
    assert json.loads(summary)["failed_stage"] == "extract_crm"
    recent = overall_status(settings)["recent_runs"][0]
    assert recent["status"] == "failed" and "salesforce_default" in recent["fix"]


def test_failure_hints_follow_the_exception_class():
    from lead_scoring.quality.gx_checks import CriticalDataQualityError
    from lead_scoring.reverse_etl.writer import CircuitBreakerOpen

    assert "runs/<run_id>/gx" in failure_hint(CriticalDataQualityError("x"))
    assert "LEADSCORE_FORCE_SYNC" in failure_hint(CircuitBreakerOpen("x"))
    assert "task log" in failure_hint(ValueError("something else"))


def test_hourly_dag_tasks_have_the_failure_callback():
    from airflow.models.dagbag import DagBag

    from lead_scoring.airflow_support import on_task_failure

    dag = DagBag(dag_folder=str(REPO / "dags")).dags["lead_scoring_hourly"]
    for task_id in ("extract_crm", "load_raw", "validate_scores", "write_back_crm"):
        callbacks = dag.get_task(task_id).on_failure_callback
        callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
        assert on_task_failure in callbacks, task_id


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_runs_the_airflow_3_services_on_postgres(compose):
    services = compose["services"]
    assert {"postgres", "api-server", "scheduler", "dag-processor", "triggerer", "crm-sandbox"} <= set(
        services
    )
    for name in ("api-server", "scheduler", "dag-processor", "triggerer"):
        assert services[name]["command"] == f"airflow {name}"
        env = services[name]["environment"]
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql")
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["crm-sandbox"]["profiles"] == ["sandbox"]
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["api-server"]


def test_compose_paths_and_settings_exist_in_the_project(compose):
    env = compose["services"]["scheduler"]["environment"]
    assert env["AIRFLOW__CORE__DAGS_FOLDER"].removeprefix("/opt/leadscore/") == "dags"
    assert (REPO / "dags" / "lead_scoring_hourly.py").exists()
    settings_names = {"LEADSCORE_HOME", "LEADSCORE_WAREHOUSE", "LEADSCORE_LANDING", "LEADSCORE_RUNS"}
    assert settings_names <= set(env)
    source = (REPO / "plugins" / "lead_scoring" / "config.py").read_text()
    assert all(f'"{name}"' in source for name in settings_names)
    dockerfile = compose["x-airflow-common"]["build"]["dockerfile_inline"]
    for line in dockerfile.splitlines():
        if line.strip().startswith("COPY") and " . ." not in line:
            for path in line.split()[1:-1]:
                assert (REPO / path).exists(), path
    volumes = {v.split(":")[1] for v in compose["x-airflow-common"]["volumes"]}
    warehouse_dir = env["LEADSCORE_WAREHOUSE"].rsplit("/", 1)[0]
    assert {env["LEADSCORE_LANDING"], env["LEADSCORE_RUNS"], warehouse_dir} <= volumes
    assert (REPO / ".env.example").exists()


def pins(path) -> dict[str, str]:
    """package (normalised) -> version of a uv-compiled lock file."""
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-\[\]]+)==(\S+)", line)
        if match:
            found[re.sub(r"[-_.]+", "-", match.group(1).split("[")[0]).lower()] = match.group(2)
    return found


def test_compose_image_has_the_postgres_driver_its_metadata_url_names(compose):
    dockerfile = compose["x-airflow-common"]["build"]["dockerfile_inline"]
    install = next(line for line in dockerfile.splitlines() if "uv pip install --system -r" in line)
    assert "-r requirements.txt" in install and "-r requirements-docker.txt" in install
    copied = {
        p for line in dockerfile.splitlines() if line.strip().startswith("COPY") for p in line.split()[1:-1]
    }
    assert "requirements-docker.txt" in copied

    docker, main = pins(REPO / "requirements-docker.txt"), pins(REPO / "requirements.txt")
    url = compose["x-airflow-common"]["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    driver = url.split("://")[0].split("+")[1]
    assert {"psycopg2": "psycopg2-binary", "psycopg": "psycopg"}[driver] in docker, driver
    assert "apache-airflow-providers-postgres" in docker
    # compiled with requirements.txt as constraints: every shared pin is identical
    shared = set(docker) & set(main)
    assert {"apache-airflow", "sqlalchemy"} <= shared
    assert {name: docker[name] for name in shared} == {name: main[name] for name in shared}
    wanted = [
        line.split("==")[0].strip().lower()
        for line in (REPO / "requirements-docker.in").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert set(wanted) <= set(docker), "requirements-docker.txt is stale: recompile it (see its .in)"
