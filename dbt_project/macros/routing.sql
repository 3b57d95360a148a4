{#- Routing helpers (portable: dbt cross-database macros only). -#}

{#- A web domain from an e-mail domain, a website or a URL: lower-cased, trimmed, without
    scheme, `www.`, path, port or trailing dot; NULL when empty.
    'https://www.Acme.com/about' -> 'acme.com'. -#}
{% macro normalize_domain(column) -%}
    nullif(
        {{ lead_scoring.strip_www(
            dbt.split_part(
                dbt.split_part(
                    dbt.replace(dbt.replace('lower(trim(' ~ column ~ '))', "'https://'", "''"), "'http://'", "''"),
                    "'/'", 1),
                "':'", 1)
        ) }},
        ''
    )
{%- endmacro %}

{% macro strip_www(expression) -%}
    case
        when {{ expression }} like 'www.%' then substr({{ expression }}, 5)
        else {{ expression }}
    end
{%- endmacro %}

{#- Whether a semicolon-separated seed list (e.g. 'smb;mid_market', or '*' for any) holds
    a value. A NULL value matches only '*'. -#}
{% macro list_contains(list_column, value) -%}
    (
        {{ list_column }} = '*'
        or {{ dbt.position(
            dbt.concat(["';'", value, "';'"]),
            dbt.concat(["';'", list_column, "';'"])
        ) }} > 0
    )
{%- endmacro %}

{#- Weighted round-robin that continues from earlier runs, as CTEs named <prefix>_*.
    Inputs (CTE names):
      pool_leads:  crm_id, routing_pool, tier, composite_score (leads to place this run)
      pool_reps:   routing_pool, rep_id, round_robin_weight, slots_available (> 0)
      prior_counts: routing_pool, rep_id, assignments (earlier assignments in that pool)
    Every rep's k-th new lead sits at position start + k / weight, where start is the rep's
    earlier assignments / weight (a rep new to the pool starts at the pool's current position:
    earlier assignments / weight of the pool), so over time every rep's share of a pool tends to
    its share of the weights. Leads (best first: tier, score, Id) take the positions in order;
    ties go to the lower rep Id. Same inputs, same owners. Output CTE <prefix>_assigned:
    crm_id, routing_pool, rep_id, slot_position, prior_assignments, pool_rep_count. -#}
{% macro weighted_round_robin(prefix, pool_leads, pool_reps, prior_counts, max_slots) -%}
{{ prefix }}_reps_with_history as (

    select
        {{ pool_reps }}.routing_pool,
        {{ pool_reps }}.rep_id,
        cast({{ pool_reps }}.round_robin_weight as {{ dbt.type_float() }}) as round_robin_weight,
        {{ pool_reps }}.slots_available,
        coalesce({{ prior_counts }}.assignments, 0) as prior_assignments
    from {{ pool_reps }}
    left join {{ prior_counts }}
        on {{ pool_reps }}.routing_pool = {{ prior_counts }}.routing_pool
        and {{ pool_reps }}.rep_id = {{ prior_counts }}.rep_id

),

{{ prefix }}_pool_positions as (

    select
        routing_pool,
        sum(prior_assignments) / sum(round_robin_weight) as pool_position,
        count(*) as pool_rep_count
    from {{ prefix }}_reps_with_history
    group by routing_pool

),

{{ prefix }}_rep_starts as (

    select
        {{ prefix }}_reps_with_history.*,
        {{ prefix }}_pool_positions.pool_rep_count,
        case
            when {{ prefix }}_reps_with_history.prior_assignments > 0
                then {{ prefix }}_reps_with_history.prior_assignments / {{ prefix }}_reps_with_history.round_robin_weight
            else {{ prefix }}_pool_positions.pool_position
        end as start_position
    from {{ prefix }}_reps_with_history
    inner join {{ prefix }}_pool_positions
        on {{ prefix }}_reps_with_history.routing_pool = {{ prefix }}_pool_positions.routing_pool

),

{{ prefix }}_pool_sizes as (

    select
        routing_pool,
        count(*) as pool_lead_count
    from {{ pool_leads }}
    group by routing_pool

),

{{ prefix }}_series as (

    {{ dbt.generate_series(max_slots) }}

),

{{ prefix }}_slots as (

    select
        {{ prefix }}_rep_starts.routing_pool,
        {{ prefix }}_rep_starts.rep_id,
        {{ prefix }}_rep_starts.prior_assignments,
        {{ prefix }}_rep_starts.pool_rep_count,
        {{ prefix }}_rep_starts.round_robin_weight,
        {{ prefix }}_rep_starts.start_position
        + cast({{ prefix }}_series.generated_number as {{ dbt.type_float() }})
        / {{ prefix }}_rep_starts.round_robin_weight as slot_position
    from {{ prefix }}_rep_starts
    inner join {{ prefix }}_pool_sizes
        on {{ prefix }}_rep_starts.routing_pool = {{ prefix }}_pool_sizes.routing_pool
    cross join {{ prefix }}_series
    where {{ prefix }}_series.generated_number <= {{ prefix }}_rep_starts.slots_available
        and {{ prefix }}_series.generated_number <= {{ prefix }}_pool_sizes.pool_lead_count

),

{{ prefix }}_ranked_slots as (

    select
        {{ prefix }}_slots.*,
        row_number() over (
            partition by routing_pool
            order by slot_position, rep_id
        ) as slot_rank
    from {{ prefix }}_slots

),

{{ prefix }}_ranked_leads as (

    select
        crm_id,
        routing_pool,
        row_number() over (
            partition by routing_pool
            order by tier, composite_score desc, crm_id
        ) as lead_rank
    from {{ pool_leads }}

),

{{ prefix }}_assigned as (

    select
        {{ prefix }}_ranked_leads.crm_id,
        {{ prefix }}_ranked_leads.routing_pool,
        {{ prefix }}_ranked_slots.rep_id,
        {{ prefix }}_ranked_slots.slot_position,
        {{ prefix }}_ranked_slots.prior_assignments,
        {{ prefix }}_ranked_slots.pool_rep_count,
        {{ prefix }}_ranked_slots.round_robin_weight
    from {{ prefix }}_ranked_leads
    inner join {{ prefix }}_ranked_slots
        on {{ prefix }}_ranked_leads.routing_pool = {{ prefix }}_ranked_slots.routing_pool
        and {{ prefix }}_ranked_leads.lead_rank = {{ prefix }}_ranked_slots.slot_rank

)
{%- endmacro %}

{#- One routing step by weighted round-robin, as CTEs named <prefix>_*, shared by the territory
    and the team steps so both place Leads the same way. Inputs (CTE names):
      pool_leads:          crm_id, routing_pool, tier, composite_score (leads to place)
      pool_members:        routing_pool, rep_id (who belongs to the pool, available or not)
      rep_capacity:        int_reps_capacity_evaluated (is_routable, is_available,
                           round_robin_weight, capacity_left)
      earlier_assignments: list of CTEs with crm_id, rep_id placed by earlier steps this run
                           (their Leads count against the rep's capacity)
      prior_counts:        routing_pool, rep_id, assignments (earlier runs)
    A pool's reps are its members that are routable, available, weighted and have capacity
    left; weighted_round_robin places the Leads; a rep in several pools keeps the best
    positions (slot, then Lead Id) up to the capacity left and the rest stay unplaced (the
    next step takes them). Output CTE <prefix>_routed: crm_id, routing_pool, rep_id,
    slot_position, prior_assignments, pool_rep_count, round_robin_weight. -#}
{% macro pool_round_robin(prefix, pool_leads, pool_members, rep_capacity, earlier_assignments, prior_counts, max_slots) -%}
{{ prefix }}_earlier_load as (

    {% for step in earlier_assignments -%}
    select
        rep_id,
        count(*) as assigned_leads
    from {{ step }}
    group by rep_id
    {% if not loop.last %}union all
    {% endif -%}
    {%- endfor %}

),

{{ prefix }}_earlier_load_summed as (

    select
        rep_id,
        sum(assigned_leads) as assigned_leads
    from {{ prefix }}_earlier_load
    group by rep_id

),

{{ prefix }}_pool_reps as (

    select distinct
        {{ pool_members }}.routing_pool,
        {{ rep_capacity }}.rep_id,
        {{ rep_capacity }}.round_robin_weight,
        {{ rep_capacity }}.capacity_left
        - coalesce({{ prefix }}_earlier_load_summed.assigned_leads, 0) as slots_available
    from {{ pool_members }}
    inner join {{ rep_capacity }}
        on {{ pool_members }}.rep_id = {{ rep_capacity }}.rep_id
    left join {{ prefix }}_earlier_load_summed
        on {{ rep_capacity }}.rep_id = {{ prefix }}_earlier_load_summed.rep_id
    where {{ rep_capacity }}.is_routable
        and {{ rep_capacity }}.is_available
        and {{ rep_capacity }}.round_robin_weight > 0
        and {{ rep_capacity }}.capacity_left - coalesce({{ prefix }}_earlier_load_summed.assigned_leads, 0) > 0

),

{{ lead_scoring.weighted_round_robin(prefix, pool_leads, prefix ~ '_pool_reps', prior_counts, max_slots) }},

{{ prefix }}_capacity_checked as (

    select
        {{ prefix }}_assigned.*,
        {{ prefix }}_pool_reps.slots_available,
        row_number() over (
            partition by {{ prefix }}_assigned.rep_id
            order by {{ prefix }}_assigned.slot_position asc, {{ prefix }}_assigned.crm_id asc
        ) as take_rank
    from {{ prefix }}_assigned
    inner join {{ prefix }}_pool_reps
        on {{ prefix }}_assigned.routing_pool = {{ prefix }}_pool_reps.routing_pool
        and {{ prefix }}_assigned.rep_id = {{ prefix }}_pool_reps.rep_id

),

{{ prefix }}_routed as (

    select
        crm_id,
        routing_pool,
        rep_id,
        slot_position,
        prior_assignments,
        pool_rep_count,
        round_robin_weight
    from {{ prefix }}_capacity_checked
    where take_rank <= slots_available

)
{%- endmacro %}

{#- The routing ledger (marts.lead_assignments) as it was before this run, or none on the
    first run. Read without ref(): the ledger is built from the models that read it, after
    them, so they see the earlier runs' rows only (a ref would be a cycle). -#}
{% macro routing_ledger_relation() -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set ledger_node = graph.nodes.values() | selectattr('name', 'equalto', 'lead_assignments') | list -%}
    {%- if not ledger_node -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(adapter.get_relation(
        database=ledger_node[0].database,
        schema=ledger_node[0].schema,
        identifier=ledger_node[0].alias,
    )) }}
{%- endmacro %}

{#- A Lead's location as one join key: lower(trim(country)) and upper(trim(state)), each
    prefixed with 'v', or 'n' when missing, so that a missing value and an empty one differ. -#}
{% macro territory_location_key(country, state) -%}
    {{ dbt.concat([
        "coalesce(" ~ dbt.concat(["'v'", "lower(trim(" ~ country ~ "))"]) ~ ", 'n')",
        "'|'",
        "coalesce(" ~ dbt.concat(["'v'", "upper(trim(" ~ state ~ "))"]) ~ ", 'n')",
    ]) }}
{%- endmacro %}

{#- Whether a Task is a rep's work (a call, an e-mail): not a handoff Task leadscore created to
    ask for that work (leadscore_action_id, set by the actions write-back; see
    stg_salesforce__tasks). The SLA, the attempt count and "worked by owner" all use it. -#}
{% macro is_rep_task(tasks) -%}
    {{ tasks }}.leadscore_action_id is null
{%- endmacro %}
