{#- Routing step 2: Leads still to place whose matched Account's owner is an available rep
    with capacity left (best Leads first: tier, score, Id). -#}
with

fixed_rules as (

    select * from {{ ref('int_leads_fixed_rules_applied') }}

),

rep_capacity as (

    select * from {{ ref('int_reps_capacity_evaluated') }}

),

candidates as (

    select
        fixed_rules.crm_id,
        fixed_rules.account_owner_id as rep_id,
        rep_capacity.capacity_left,
        row_number() over (
            partition by fixed_rules.account_owner_id
            order by fixed_rules.tier asc, fixed_rules.composite_score desc, fixed_rules.crm_id asc
        ) as take_rank
    from fixed_rules
    inner join rep_capacity
        on fixed_rules.account_owner_id = rep_capacity.rep_id
    where fixed_rules.fixed_rule is null
        and rep_capacity.is_available

),

final as (

    select
        crm_id,
        rep_id
    from candidates
    where take_rank <= capacity_left

)

select * from final
