{#- What the routing ledger (marts.lead_assignments) says about each Lead before this run:
    the latest assignment before var('as_of'), the CRM owner it replaced, and whether this
    as_of is recorded already (a re-run). Empty on the first run. -#}
{%- set ledger = lead_scoring.routing_ledger_relation() %}
{#- the fast lane's filter below is rendered only when the ledger exists, which dbt does not
    know while parsing: name its one input here -#}
{%- if lead_scoring.fast_lane_narrow() %}
-- depends_on: {{ ref('int_fast_lane_scope') }}
{%- endif %}
with

ledger as (

    {% if ledger is not none -%}
    select
        crm_id,
        owner_id,
        previous_owner_id,
        owner_type,
        routing_rule,
        routing_pool,
        assigned_at
    from {{ ledger }}
    {{ lead_scoring.fast_lane_scope('crm_id', 'scored') }}
    {%- else -%}
    select
        cast(null as {{ dbt.type_string() }}) as crm_id,
        cast(null as {{ dbt.type_string() }}) as owner_id,
        cast(null as {{ dbt.type_string() }}) as previous_owner_id,
        cast(null as {{ dbt.type_string() }}) as owner_type,
        cast(null as {{ dbt.type_string() }}) as routing_rule,
        cast(null as {{ dbt.type_string() }}) as routing_pool,
        cast(null as {{ dbt.type_timestamp() }}) as assigned_at
    where 1 = 0
    {%- endif %}

),

earlier as (

    select
        crm_id,
        owner_id,
        previous_owner_id,
        owner_type,
        routing_rule,
        routing_pool,
        assigned_at,
        row_number() over (
            partition by crm_id
            order by assigned_at desc, owner_id asc
        ) as recency_rank
    from ledger
    where assigned_at < {{ lead_scoring.as_of() }}

),

recorded_this_run as (

    select distinct crm_id
    from ledger
    where assigned_at = {{ lead_scoring.as_of() }}

),

latest as (

    select * from earlier
    where recency_rank = 1

),

final as (

    select
        -- ids
        coalesce(latest.crm_id, recorded_this_run.crm_id) as crm_id,
        latest.owner_id as previous_routed_owner_id,
        latest.previous_owner_id as previous_crm_owner_id,

        -- strings
        latest.owner_type as previous_owner_type,
        latest.routing_rule as previous_routing_rule,
        latest.routing_pool as previous_routing_pool,

        -- booleans
        recorded_this_run.crm_id is not null as is_recorded_this_run,

        -- timestamps
        latest.assigned_at as previous_assigned_at

    from latest
    full outer join recorded_this_run
        on latest.crm_id = recorded_this_run.crm_id

)

select * from final
