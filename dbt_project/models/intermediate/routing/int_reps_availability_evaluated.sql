{#- One row per rep of seeds/routing_reps.csv with their availability at as_of: active in
    the CRM (User.IsActive), not inside an out-of-office window (routing_rep_availability),
    and routable. Capacity is checked later, against the leads they keep. -#}
with

reps as (

    select * from {{ ref('routing_reps') }}

),

users as (

    select * from {{ ref('stg_salesforce__users') }}

),

rep_availability as (

    select
        rep_id,
        reason,
        cast(unavailable_from as {{ dbt.type_timestamp() }}) as unavailable_from,
        cast(unavailable_until as {{ dbt.type_timestamp() }}) as unavailable_until
    from {{ ref('routing_rep_availability') }}

),

out_of_office as (

    select
        rep_id,
        max(unavailable_until) as out_of_office_until,
        min(reason) as out_of_office_reason
    from rep_availability
    where unavailable_from <= {{ lead_scoring.as_of() }}
        and unavailable_until > {{ lead_scoring.as_of() }}
    group by rep_id

),

final as (

    select
        -- ids
        reps.rep_id,
        coalesce(reps.manager_id, users.manager_id) as manager_id,
        reps.business_hours_id,

        -- strings
        coalesce(users.user_name, reps.rep_name) as rep_name,
        reps.team,
        reps.territories,
        reps.segments,
        reps.industries,
        reps.languages,
        out_of_office.out_of_office_reason,

        -- numerics
        reps.capacity_open_leads,
        reps.round_robin_weight,

        -- booleans
        coalesce(reps.is_routable, false) as is_routable,
        coalesce(users.is_active, false) as is_active_in_crm,
        out_of_office.rep_id is not null as is_out_of_office,
        coalesce(reps.is_routable, false)
        and coalesce(users.is_active, false)
        and out_of_office.rep_id is null as is_available,

        -- timestamps
        out_of_office.out_of_office_until

    from reps
    left join users
        on reps.rep_id = users.user_id
    left join out_of_office
        on reps.rep_id = out_of_office.rep_id

)

select * from final
