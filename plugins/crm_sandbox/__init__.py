"""The local CRM sandbox: a small Salesforce-REST-compatible HTTPS server backed by SQLite.

It speaks the subset of the Salesforce APIs that simple-salesforce calls (SOQL query with
paging, sObject CRUD/upsert, getDeleted, sObject Collections, Bulk API 2.0 ingest and query
jobs, limits, the server time in every ``Date`` header), so the product's real Salesforce
code path is what talks to it. Its clock can be set and it can merge records (sandbox
endpoints, see ``server``). Modules:

- ``store``: SQLite schema, typed values, record reads/writes, the parquet bulk loader.
- ``soql``: the SOQL subset parser, compiled to parameterised SQLite SQL.
- ``records``: sObject REST and sObject Collections semantics, getDeleted and merges
  (transport independent).
- ``bulk``: Bulk API 2.0 ingest jobs (persisted, processed in a background thread).
- ``faults``: seeded fault injection (429, 5xx, timeouts, per-row rejections).
- ``usage``: API call counting (daily limit, per-kind stats).
- ``tls``: the self-signed certificate and the access token.
- ``server``: the HTTP(S) server (``python -m crm_sandbox.server``).
- ``runtime``: start/stop/info of a background server.
- ``cli``: the ``leadscore sandbox`` sub-commands.
"""
