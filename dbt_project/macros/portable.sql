{#- Engine differences live here, behind adapter.dispatch, never in model files. The project
    builds with identical results on DuckDB (the product's warehouse), Postgres and Spark
    (`make test-engines` proves it); docs/scaling-out.md, "Portable SQL", lists the traps. -#}

{#- ---------------------------------------------------------------------------------------
    Overrides of dbt's cross-database macros (the root project is searched first).
--------------------------------------------------------------------------------------- -#}

{#- dbt.type_float() is `float` everywhere, which is a 4-byte REAL on DuckDB and Spark but an
    8-byte double on Postgres: epoch seconds lost up to a minute and revenues their 8th digit.
    Every engine computes in 8-byte doubles. -#}
{% macro duckdb__type_float() -%}
    double
{%- endmacro %}

{% macro spark__type_float() -%}
    double
{%- endmacro %}

{#- dbt.safe_cast: NULL on bad input on every engine (dbt's is a plain cast on DuckDB and
    Spark; Postgres has no try_cast: numbers are cast only when they look like one). -#}
{% macro duckdb__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

{% macro spark__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

{% macro postgres__safe_cast(field, type) -%}
    {%- set kind = type | lower -%}
    {%- if kind.startswith(('int', 'bigint', 'smallint')) -%}
    case when trim(cast({{ field }} as text)) ~ '^[-+]?[0-9]+$' then cast({{ field }} as {{ type }}) end
    {%- elif kind.startswith(('float', 'double', 'real', 'numeric', 'decimal')) -%}
    case when trim(cast({{ field }} as text)) ~ '^[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?$'
        then cast({{ field }} as {{ type }}) end
    {%- else -%}
    cast({{ field }} as {{ type }})
    {%- endif -%}
{%- endmacro %}

{#- dbt.split_part: Spark's native split_part (3.3+) gives '' past the last part like DuckDB
    and Postgres (dbt-spark's split()[n] gives NULL) and takes the delimiter literally. -#}
{% macro spark__split_part(string_text, delimiter_text, part_number) -%}
    split_part({{ string_text }}, {{ delimiter_text }}, {{ part_number }})
{%- endmacro %}

{#- Seeds on Spark: dbt-spark's session method binds an empty CSV cell as the text 'None'
    (so `url_pattern is null` was false) and does not escape quotes. Write literals: NULL for
    an empty cell, escaped text otherwise, cast to the column's type. -#}
{% macro spark__load_csv_rows(model, agate_table) -%}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                ({%- for col_name in agate_table.column_names -%}
                    {%- set type = column_override.get(col_name, adapter.convert_type(agate_table, loop.index0)) -%}
                    {%- set value = row[loop.index0] -%}
                    {%- if value is none -%}
                        cast(null as {{ type }})
                    {%- else -%}
                        {%- set text = (value | string | lower) if value is sameas true or value is sameas false else (value | string) -%}
                        cast('{{ text | replace("\\", "\\\\") | replace("'", "\\'") }}' as {{ type }})
                    {%- endif -%}
                    {{- ', ' if not loop.last -}}
                {%- endfor -%}){{ ',' if not loop.last }}
            {% endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.first -%}{%- do statements.append(sql) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(statements[0]) }}
{%- endmacro %}

{#- ---------------------------------------------------------------------------------------
    Our own portable macros.
--------------------------------------------------------------------------------------- -#}

{#- Seconds since the Unix epoch of a timestamp, fractions included (exact, unlike datediff
    in minutes, which rounds up on Spark and counts boundaries elsewhere). -#}
{% macro epoch_seconds(timestamp_expression) -%}
    {{ return(adapter.dispatch('epoch_seconds', 'lead_scoring')(timestamp_expression)) }}
{%- endmacro %}

{% macro default__epoch_seconds(timestamp_expression) -%}
    cast(extract(epoch from {{ timestamp_expression }}) as {{ dbt.type_float() }})
{%- endmacro %}

{% macro duckdb__epoch_seconds(timestamp_expression) -%}
    cast(epoch({{ timestamp_expression }}) as {{ dbt.type_float() }})
{%- endmacro %}

{% macro spark__epoch_seconds(timestamp_expression) -%}
    (cast(unix_micros({{ timestamp_expression }}) as {{ dbt.type_float() }}) / 1000000)
{%- endmacro %}

{#- Age in fractional days between two timestamps. -#}
{% macro age_in_days(earlier, later) -%}
    (({{ lead_scoring.epoch_seconds(later) }} - {{ lead_scoring.epoch_seconds(earlier) }}) / 86400.0)
{%- endmacro %}

{#- String aggregation with a guaranteed order (dbt.listagg ignores its order on Spark).
    Ties on order_by are broken by the value itself on Spark only: keep order_by unique. -#}
{% macro ordered_listagg(measure, delimiter, order_by) -%}
    {{ return(adapter.dispatch('ordered_listagg', 'lead_scoring')(measure, delimiter, order_by)) }}
{%- endmacro %}

{% macro default__ordered_listagg(measure, delimiter, order_by) -%}
    string_agg({{ measure }}, '{{ delimiter }}' order by {{ order_by }})
{%- endmacro %}

{% macro spark__ordered_listagg(measure, delimiter, order_by) -%}
    array_join(
        transform(
            array_sort(collect_list(named_struct('sort_key', {{ order_by }}, 'item', {{ measure }}))),
            entry -> entry.item
        ),
        '{{ delimiter }}'
    )
{%- endmacro %}

{#- A text sort key in byte order on every engine (DuckDB and Spark sort text by bytes;
    Postgres by the database's collation, e.g. en_US ignores punctuation and case). -#}
{% macro binary_sort_key(expression) -%}
    {{ return(adapter.dispatch('binary_sort_key', 'lead_scoring')(expression)) }}
{%- endmacro %}

{% macro default__binary_sort_key(expression) -%}
    {{ expression }}
{%- endmacro %}

{% macro postgres__binary_sort_key(expression) -%}
    ({{ expression }} collate "C")
{%- endmacro %}

{#- The text of a float the same on every engine, in DuckDB's rendering: 15.0, 0.5, -10.0,
    100000000.0 (Postgres writes 15 and Spark 1.0E8). Integral values up to 1e15 only;
    other values use the engine's shortest round-trip text, which agrees between 0.001 and
    1e7. Used by the scoring_model_version hash, which must not depend on the engine. -#}
{% macro float_text(expression) -%}
    {{ return(adapter.dispatch('float_text', 'lead_scoring')(expression)) }}
{%- endmacro %}

{% macro default__float_text(expression) -%}
    case
        when {{ expression }} = floor({{ expression }}) and abs({{ expression }}) < 1e15
            then {{ dbt.concat(["cast(cast(" ~ expression ~ " as " ~ dbt.type_bigint() ~ ") as " ~ dbt.type_string() ~ ")", "'.0'"]) }}
        else cast({{ expression }} as {{ dbt.type_string() }})
    end
{%- endmacro %}

{% macro duckdb__float_text(expression) -%}
    cast({{ expression }} as {{ dbt.type_string() }})
{%- endmacro %}

{#- Round to n decimals and keep a float type (Postgres has no round(double, n)). -#}
{% macro round_to(expression, digits) -%}
    cast(round(cast({{ expression }} as {{ dbt.type_numeric() }}), {{ digits }}) as {{ dbt.type_float() }})
{%- endmacro %}

{#- Clamp an expression into [low, high]. -#}
{% macro clamp(expression, low, high) -%}
    least(greatest({{ expression }}, {{ low }}), {{ high }})
{%- endmacro %}

{#- Lower-cased, trimmed e-mail, NULL when empty. -#}
{% macro normalize_email(column) -%}
    nullif(lower(trim({{ column }})), '')
{%- endmacro %}

{#- One row per property of a JSON object column: every column of ``relation`` (a CTE) plus
    property_name and property_text (the value as text: a number's digits, a string's
    characters). Rows whose column is NULL or not an object give none. -#}
{% macro json_object_properties(relation, json_column) -%}
    {{ return(adapter.dispatch('json_object_properties', 'lead_scoring')(relation, json_column)) }}
{%- endmacro %}

{% macro duckdb__json_object_properties(relation, json_column) -%}
    select
        source.*,
        property.key as property_name,
        property.value ->> '$' as property_text
    from (
        select * from {{ relation }} where json_type(cast({{ json_column }} as json)) = 'OBJECT'
    ) as source,
        json_each(cast(source.{{ json_column }} as json)) as property
{%- endmacro %}

{% macro postgres__json_object_properties(relation, json_column) -%}
    select
        source.*,
        property.key as property_name,
        property.value as property_text
    from (
        select * from {{ relation }} where jsonb_typeof(cast({{ json_column }} as jsonb)) = 'object'
    ) as source
    cross join lateral jsonb_each_text(cast(source.{{ json_column }} as jsonb)) as property (key, value)
{%- endmacro %}

{% macro spark__json_object_properties(relation, json_column) -%}
    select
        source.*,
        property.property_name,
        property.property_text
    from {{ relation }} as source
    lateral view explode(from_json(source.{{ json_column }}, 'map<string,string>')) property
        as property_name, property_text
{%- endmacro %}
