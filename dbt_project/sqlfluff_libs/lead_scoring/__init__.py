"""Stand-ins for this project's macros (macros/*.sql) when SQLFluff renders models with its
jinja templater: every macro renders as a function call over its arguments (string literals
quoted where the macro takes a literal), and as_of() as a timestamp literal, so the rendered
SQL parses. The real macros run in dbt; this only serves the linter."""


def as_of():
    return "timestamp '2026-01-01 00:00:00'"


def ordered_listagg(measure, delimiter, order_by):
    return f"string_agg({measure}, '{delimiter}' order by {order_by})"


def __getattr__(name):
    return lambda *args, **kwargs: f"{name}(" + ", ".join(str(arg) for arg in args) + ")"
