"""Stand-ins for dbt's cross-database macros when SQLFluff renders models with its jinja
templater: each returns representative DuckDB SQL so the rendered model parses. The real
macros run in dbt; this only serves the linter."""

_TYPES = {
    "type_float": "double",
    "type_string": "varchar",
    "type_int": "integer",
    "type_bigint": "bigint",
    "type_numeric": "numeric(28, 6)",
    "type_timestamp": "timestamp",
    "type_boolean": "boolean",
}


def concat(fields):
    return "concat(" + ", ".join(str(field) for field in fields) + ")"


def generate_series(upper_bound):
    return f"select unnest(range(1, {upper_bound} + 1)) as generated_number"


def __getattr__(name):
    if name in _TYPES:
        return lambda *args, **kwargs: _TYPES[name]
    return lambda *args, **kwargs: f"{name}(" + ", ".join(str(arg) for arg in args) + ")"
