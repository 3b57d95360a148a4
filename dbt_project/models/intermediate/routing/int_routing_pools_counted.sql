{#- Earlier round-robin assignments per pool and rep, from the routing ledger
    (marts.lead_assignments) before var('as_of'): where each rep's weighted round-robin
    continues from. Empty on the first run. -#}
{%- set ledger = lead_scoring.routing_ledger_relation() %}
with

ledger as (

    {% if ledger is not none -%}
    select
        owner_id,
        owner_type,
        routing_pool,
        assigned_at
    from {{ ledger }}
    {%- else -%}
    select
        cast(null as {{ dbt.type_string() }}) as owner_id,
        cast(null as {{ dbt.type_string() }}) as owner_type,
        cast(null as {{ dbt.type_string() }}) as routing_pool,
        cast(null as {{ dbt.type_timestamp() }}) as assigned_at
    where 1 = 0
    {%- endif %}

),

final as (

    select
        routing_pool,
        owner_id as rep_id,
        count(*) as assignments
    from ledger
    where owner_type = 'rep'
        and routing_pool is not null
        and assigned_at < {{ lead_scoring.as_of() }}
    group by routing_pool, owner_id

)

select * from final
