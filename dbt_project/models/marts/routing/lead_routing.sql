{#- One row per open (unconverted) Lead: who owns it after routing as of var('as_of'), by
    which rule and why. The owner is the latest assignment in the ledger
    marts.lead_assignments (a Lead routed earlier keeps its owner while that owner stays
    available); previous_owner_id is the CRM owner the assignment replaced. is_owner_changed
    says the CRM does not hold the routed owner yet: the write-back sends OwnerId. -#}
with

leads as (

    select * from {{ ref('int_leads_mapped_to_territories') }}

),

lead_assignments as (

    select * from {{ ref('lead_assignments') }}

),

assignments_ranked as (

    select
        lead_assignments.*,
        row_number() over (
            partition by lead_assignments.crm_id
            order by lead_assignments.assigned_at desc, lead_assignments.owner_id asc
        ) as recency_rank
    from lead_assignments
    where lead_assignments.assigned_at <= {{ lead_scoring.as_of() }}

),

current_assignments as (

    select * from assignments_ranked
    where recency_rank = 1

),

final as (

    select
        -- ids
        leads.crm_id,
        current_assignments.owner_id,
        current_assignments.previous_owner_id,
        leads.crm_owner_id,

        -- strings
        current_assignments.owner_type,
        current_assignments.owner_name,
        current_assignments.routing_rule,
        current_assignments.routing_reason,
        current_assignments.routing_pool,
        leads.team,
        leads.territory,
        leads.segment,

        -- numerics
        leads.tier,

        -- booleans
        leads.has_opted_out_of_email,
        leads.is_do_not_call,
        leads.crm_owner_id is null
        or leads.crm_owner_id <> current_assignments.owner_id as is_owner_changed,

        -- timestamps
        current_assignments.assigned_at,
        leads.created_at as lead_created_at,
        {{ lead_scoring.as_of() }} as routed_at

    from leads
    inner join current_assignments
        on leads.crm_id = current_assignments.crm_id

)

select * from final
