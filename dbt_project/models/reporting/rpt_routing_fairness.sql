{#- Round-robin fairness per pool as of var('as_of'): for every pool of the weighted
    round-robin (marts.lead_assignments.routing_pool, rules territory_match and round_robin)
    and every rep in it, the share of the pool's assignments the rep received against their
    share of the weights. The weights are shared among the pool's reps who are available now
    or were assigned Leads in the pool (a rep out of office the whole time is not owed a share). -#}
with

lead_assignments as (

    select * from {{ ref('lead_assignments') }}

),

reps as (

    select * from {{ ref('int_reps_availability_evaluated') }}

),

round_robin_assignments as (

    select
        routing_pool,
        owner_id as rep_id,
        routing_rule
    from lead_assignments
    where routing_rule in ('territory_match', 'round_robin')
        and routing_pool is not null
        and assigned_at <= {{ lead_scoring.as_of() }}

),

pools as (

    select
        routing_pool,
        max(routing_rule) as routing_rule,
        count(*) as pool_assignments
    from round_robin_assignments
    group by routing_pool

),

assigned_per_rep as (

    select
        routing_pool,
        rep_id,
        count(*) as assignments
    from round_robin_assignments
    group by routing_pool, rep_id

),

pool_members as (

    select
        pools.routing_pool,
        pools.routing_rule,
        pools.pool_assignments,
        reps.rep_id,
        reps.rep_name,
        reps.team,
        reps.is_available,
        cast(reps.round_robin_weight as {{ dbt.type_float() }}) as round_robin_weight,
        coalesce(assigned_per_rep.assignments, 0) as assignments
    from pools
    inner join reps
        on (
            pools.routing_rule = 'territory_match'
            and {{ lead_scoring.list_contains('pools.routing_pool', 'reps.rep_id') }}
        )
        or (
            pools.routing_rule = 'round_robin'
            and pools.routing_pool = {{ dbt.concat(["'team:'", 'reps.team']) }}
            and reps.is_routable
        )
    left join assigned_per_rep
        on pools.routing_pool = assigned_per_rep.routing_pool
        and reps.rep_id = assigned_per_rep.rep_id
    where reps.round_robin_weight > 0
        and (reps.is_available or assigned_per_rep.assignments > 0)

),

weights as (

    select
        routing_pool,
        sum(round_robin_weight) as pool_weight,
        count(*) as pool_reps
    from pool_members
    group by routing_pool

),

final as (

    select
        -- ids
        pool_members.routing_pool,
        pool_members.rep_id,

        -- strings
        pool_members.rep_name,
        pool_members.team,
        pool_members.routing_rule,

        -- numerics
        weights.pool_reps,
        pool_members.pool_assignments,
        pool_members.assignments,
        pool_members.round_robin_weight,
        cast(pool_members.assignments as {{ dbt.type_float() }}) / pool_members.pool_assignments as assigned_share,
        pool_members.round_robin_weight / weights.pool_weight as weight_share,
        pool_members.pool_assignments * pool_members.round_robin_weight / weights.pool_weight as expected_assignments,
        cast(pool_members.assignments as {{ dbt.type_float() }}) / pool_members.pool_assignments
        - pool_members.round_robin_weight / weights.pool_weight as share_difference,

        -- booleans
        pool_members.is_available,
        abs(
            pool_members.assignments
            - pool_members.pool_assignments * pool_members.round_robin_weight / weights.pool_weight
        ) <= 1 as is_within_one_assignment,

        -- timestamps
        {{ lead_scoring.as_of() }} as reported_at

    from pool_members
    inner join weights
        on pool_members.routing_pool = weights.routing_pool

)

select * from final
