"""Build a simple-salesforce client from an Airflow connection, environment or the sandbox.

The same code path serves a real org and the local CRM sandbox: only the instance URL,
credentials and (for the sandbox's self-signed certificate) the CA bundle differ.
Credentials are never logged (and their values are redacted from any log line).
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import requests

from lead_scoring.crm.http import ApiUsage, RetryPolicy, resilient
from lead_scoring.run_logging import register_secret

API_VERSION = "59.0"

# Set by the DAG's tasks (lead_scoring.airflow_support.run_context): only inside a task are
# connections looked up in Airflow's metadata DB / secrets backend.
AIRFLOW_TASK_CONTEXT = {"active": False}


def retry_policy_from_env() -> RetryPolicy:
    """``LEADSCORE_SF_MAX_RETRIES``, ``LEADSCORE_SF_BACKOFF_S``, ``LEADSCORE_SF_TIMEOUT_S``."""
    return RetryPolicy(
        max_retries=int(os.environ.get("LEADSCORE_SF_MAX_RETRIES", "6")),
        base_delay_s=float(os.environ.get("LEADSCORE_SF_BACKOFF_S", "0.5")),
        timeout_s=float(os.environ.get("LEADSCORE_SF_TIMEOUT_S", "60")),
    )


@dataclass(frozen=True)
class CrmConnection:
    """Where the CRM is and how to authenticate. ``repr`` hides the secrets."""

    instance_url: str = ""
    session_id: str = field(default="", repr=False)
    username: str = ""
    password: str = field(default="", repr=False)
    security_token: str = field(default="", repr=False)
    consumer_key: str = field(default="", repr=False)
    consumer_secret: str = field(default="", repr=False)
    domain: str = "login"
    ca_bundle: str = ""
    api_version: str = API_VERSION


def connection_from_env() -> CrmConnection | None:
    """``LEADSCORE_SF_*`` variables, or None when ``LEADSCORE_SF_INSTANCE_URL`` is unset."""
    url = os.environ.get("LEADSCORE_SF_INSTANCE_URL", "")
    user = os.environ.get("LEADSCORE_SF_USERNAME", "")
    if not url and not user:
        return None
    return CrmConnection(
        instance_url=url,
        session_id=os.environ.get("LEADSCORE_SF_SESSION_ID", ""),
        username=user,
        password=os.environ.get("LEADSCORE_SF_PASSWORD", ""),
        security_token=os.environ.get("LEADSCORE_SF_SECURITY_TOKEN", ""),
        consumer_key=os.environ.get("LEADSCORE_SF_CONSUMER_KEY", ""),
        consumer_secret=os.environ.get("LEADSCORE_SF_CONSUMER_SECRET", ""),
        domain=os.environ.get("LEADSCORE_SF_DOMAIN", "login"),
        ca_bundle=os.environ.get("LEADSCORE_SF_CA_BUNDLE", ""),
        api_version=os.environ.get("LEADSCORE_SF_API_VERSION", API_VERSION),
    )


def connection_from_airflow(conn_id: str = "salesforce_default") -> CrmConnection | None:
    """The Airflow connection ``conn_id`` (host = instance URL, password = session id or
    password; extras: ``security_token``, ``consumer_key``, ``consumer_secret``, ``domain``,
    ``ca_bundle``, ``session_id``), or None if Airflow or the connection is absent."""
    in_env = f"AIRFLOW_CONN_{conn_id.upper()}" in os.environ
    if not in_env and not AIRFLOW_TASK_CONTEXT["active"]:
        return None
    from airflow.sdk import BaseHook  # noqa: PLC0415 - optional dependency at runtime

    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - not defined in the metadata DB either: fall back
        if in_env:
            raise  # a connection that is set but unreadable must not be silently replaced
        return None
    extra = conn.extra_dejson or {}
    host = conn.host or ""
    if host and not host.startswith("http"):
        host = f"https://{host}" + (f":{conn.port}" if conn.port else "")
    session_id = extra.get("session_id", "")
    password = conn.password or ""
    if conn.login:
        return CrmConnection(
            instance_url=host,
            username=conn.login,
            password=password,
            security_token=extra.get("security_token", ""),
            consumer_key=extra.get("consumer_key", ""),
            consumer_secret=extra.get("consumer_secret", ""),
            domain=extra.get("domain", "login"),
            ca_bundle=extra.get("ca_bundle", ""),
            api_version=extra.get("api_version", API_VERSION),
        )
    return CrmConnection(
        instance_url=host,
        session_id=session_id or password,
        ca_bundle=extra.get("ca_bundle", ""),
        api_version=extra.get("api_version", API_VERSION),
    )


def sandbox_connection(sandbox_dir: Path) -> CrmConnection | None:
    """The local CRM sandbox started by ``leadscore sandbox serve``, if it is running."""
    info_file = sandbox_dir / "sandbox.json"
    if not info_file.exists():
        return None
    info = json.loads(info_file.read_text())
    token = Path(info["token_file"]).read_text().strip()
    return CrmConnection(instance_url=info["url"], session_id=token, ca_bundle=info["cert"])


def resolve_connection(sandbox_dir: Path, conn_id: str = "salesforce_default") -> CrmConnection:
    """Airflow connection, then ``LEADSCORE_SF_*`` environment, then the running sandbox."""
    for candidate in (
        connection_from_airflow(conn_id),
        connection_from_env(),
        sandbox_connection(sandbox_dir),
    ):
        if candidate is not None:
            return candidate
    raise RuntimeError(
        "No CRM connection: set the Airflow connection 'salesforce_default', or "
        "LEADSCORE_SF_INSTANCE_URL + LEADSCORE_SF_SESSION_ID, or start the local sandbox "
        "with `leadscore sandbox serve`."
    )


def salesforce(conn: CrmConnection, policy: RetryPolicy | None = None):
    """A ``simple_salesforce.Salesforce`` for ``conn`` (a real org or the sandbox) whose
    HTTP calls retry and time out per ``policy``; its ``session.api_usage`` counts calls."""
    from simple_salesforce import Salesforce  # noqa: PLC0415 - heavy import, keep it lazy

    register_secret(conn.session_id, conn.password, conn.security_token, conn.consumer_secret)
    policy = policy or retry_policy_from_env()
    session = pinned_session(conn.ca_bundle, policy.timeout_s)
    session.api_usage = ApiUsage()  # type: ignore[attr-defined]
    session.request = resilient(session.request, policy, session.api_usage)  # type: ignore[method-assign]
    common = {"session": session, "version": conn.api_version}
    if conn.session_id:
        instance = conn.instance_url.removeprefix("https://").removeprefix("http://").rstrip("/")
        sf = Salesforce(instance=instance, session_id=conn.session_id, **common)
    elif conn.consumer_key and conn.consumer_secret and not conn.username:
        sf = Salesforce(
            consumer_key=conn.consumer_key,
            consumer_secret=conn.consumer_secret,
            domain=conn.domain,
            **common,
        )
    elif conn.username:
        sf = Salesforce(
            username=conn.username,
            password=conn.password,
            security_token=conn.security_token,
            domain=conn.domain,
            **common,
        )
    else:
        raise RuntimeError(
            "CRM connection has neither a session id nor a username: see docs/operations.md, "
            "'Pointing at a real Salesforce org'."
        )
    return sf


def server_time(sf) -> datetime:
    """The CRM's clock now (naive UTC, whole seconds): the ``Date`` header of one cheap call
    (``GET limits/``). Salesforce has no REST resource for it (SOAP has getServerTimestamp);
    every answer carries it. Needs a client made by ``salesforce`` (its ``api_usage``)."""
    usage = getattr(sf.session, "api_usage", None)
    if usage is None:
        raise RuntimeError(
            "the CRM client counts no API usage: build it with lead_scoring.crm.client.salesforce"
        )
    usage.server_time = None
    sf.limits()
    if usage.server_time is None:
        raise RuntimeError(
            "the CRM's answer to GET limits/ had no Date header: its clock is unknown, so the extract "
            "cannot tell where to end; check any proxy between leadscore and the CRM keeps that header"
        )
    return usage.server_time


def pinned_session(ca_bundle: str, timeout: float) -> requests.Session:
    """A requests session with a default timeout on every call and, when ``ca_bundle`` is
    set, that bundle trusted even if REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE are set (requests
    lets those variables override ``session.verify``)."""
    session = requests.Session()
    session.request = functools.partial(session.request, timeout=timeout)  # type: ignore[method-assign]
    if ca_bundle:
        session.verify = ca_bundle
        merge = session.merge_environment_settings

        def merge_keeping_bundle(url, proxies, stream, verify, cert):
            settings = merge(url, proxies, stream, verify, cert)
            if verify is None or verify is True:
                settings["verify"] = ca_bundle
            return settings

        session.merge_environment_settings = merge_keeping_bundle  # type: ignore[method-assign]
    return session
