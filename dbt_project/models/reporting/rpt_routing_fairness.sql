{#- Round-robin fairness per pool as of var('as_of'): for every pool of the weighted
    round-robin (marts.lead_assignments.routing_pool, rules territory_match and round_robin)
    and every rep in it, the share of the pool's assignments the rep received against their
    share of the weights. The weights are shared among the pool's reps who are available now
    or were assigned Leads in the pool (a rep out of office the whole time is not owed a share).
    Tolerance: a weighted round-robin hands out whole Leads, so the best it can promise is
    |assigned - expected| < 1 Lead; within_tolerance is |assigned - expected| <=
    greatest(10% of expected, 1 Lead), i.e. within 10% of the weights once a rep is owed 10
    Leads or more, and within the integer bound of a round-robin below that. -#}
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

deviations as (

    select
        pool_members.*,
        weights.pool_reps,
        pool_members.round_robin_weight / weights.pool_weight as weight_share,
        pool_members.pool_assignments * pool_members.round_robin_weight / weights.pool_weight as expected_leads
    from pool_members
    inner join weights
        on pool_members.routing_pool = weights.routing_pool

),

tolerances as (

    select
        deviations.*,
        deviations.assignments - deviations.expected_leads as deviation_leads,
        abs(deviations.assignments - deviations.expected_leads)
        <= greatest(0.1 * deviations.expected_leads, 1) as is_within_tolerance
    from deviations

),

pool_tolerances as (

    select
        tolerances.*,
        min(case when tolerances.is_within_tolerance then 1 else 0 end) over (
            partition by tolerances.routing_pool
        ) = 1 as is_pool_within_tolerance
    from tolerances

),

final as (

    select
        -- ids
        routing_pool,
        rep_id,

        -- strings
        rep_name,
        team,
        routing_rule,

        -- numerics
        pool_reps,
        pool_assignments,
        pool_assignments as pool_leads,
        assignments,
        assignments as assigned_leads,
        round_robin_weight,
        cast(assignments as {{ dbt.type_float() }}) / pool_assignments as assigned_share,
        weight_share,
        expected_leads as expected_assignments,
        expected_leads,
        cast(assignments as {{ dbt.type_float() }}) / pool_assignments - weight_share as share_difference,
        deviation_leads,
        100.0 * deviation_leads / nullif(expected_leads, 0) as deviation_pct,

        -- booleans
        is_available,
        abs(deviation_leads) <= 1 as is_within_one_assignment,
        is_within_tolerance,
        is_pool_within_tolerance,

        -- timestamps
        {{ lead_scoring.as_of() }} as reported_at

    from pool_tolerances

)

select * from final
