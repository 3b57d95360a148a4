{#- Every rep with the Leads they keep this run (working owner or kept from an earlier run)
    and the capacity left for new Leads: capacity_open_leads - kept_leads. -#}
with

reps as (

    select * from {{ ref('int_reps_availability_evaluated') }}

),

fixed_rules as (

    select * from {{ ref('int_leads_fixed_rules_applied') }}

),

kept as (

    select
        case when fixed_rule = 'working_owner' then crm_owner_id else previous_routed_owner_id end as rep_id,
        count(*) as kept_leads
    from fixed_rules
    where fixed_rule in ('working_owner', 'kept')
    group by case when fixed_rule = 'working_owner' then crm_owner_id else previous_routed_owner_id end

),

final as (

    select
        reps.*,
        coalesce(kept.kept_leads, 0) as kept_leads,
        reps.capacity_open_leads - coalesce(kept.kept_leads, 0) as capacity_left
    from reps
    left join kept
        on reps.rep_id = kept.rep_id

)

select * from final
