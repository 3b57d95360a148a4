{#- The routing inputs of every open (unconverted) Lead: tier and score, current CRM owner
    and whether that owner has worked it (a Task by them on the Lead, not a handoff Task
    leadscore created), the matched Account
    and its owner, and the territory (country/state), team, language and segment (employee
    band) from the routing seeds. The Lead's own firmographics win; the matched Account's
    fill the gaps. -#}
with

lead_scores as (

    select * from {{ ref('lead_scores') }}

),

people as (

    select * from {{ ref('int_people_unified') }}

),

leads_matched_to_accounts as (

    select * from {{ ref('int_leads_matched_to_accounts') }}

),

accounts as (

    select * from {{ ref('stg_salesforce__accounts') }}

),

tasks as (

    select * from {{ ref('stg_salesforce__tasks') }}

),

territories as (

    select * from {{ ref('routing_territories') }}

),

segments as (

    select * from {{ ref('routing_segments') }}

),

open_leads as (

    select
        lead_scores.crm_id,
        lead_scores.tier,
        lead_scores.composite_score,
        people.owner_id as crm_owner_id,
        coalesce(people.country, accounts.billing_country) as country,
        case
            when people.country is not null then people.state
            else accounts.billing_state
        end as state,
        coalesce(people.industry, accounts.industry) as industry,
        coalesce(people.number_of_employees, accounts.number_of_employees) as number_of_employees,
        people.has_opted_out_of_email,
        people.is_do_not_call,
        leads_matched_to_accounts.account_id as matched_account_id,
        leads_matched_to_accounts.account_name as matched_account_name,
        leads_matched_to_accounts.account_owner_id,
        leads_matched_to_accounts.matched_by,
        leads_matched_to_accounts.matched_domain,
        people.created_at
    from lead_scores
    inner join people
        on lead_scores.crm_id = people.person_id
    left join leads_matched_to_accounts
        on lead_scores.crm_id = leads_matched_to_accounts.lead_id
    left join accounts
        on leads_matched_to_accounts.account_id = accounts.account_id
    where lead_scores.crm_object = 'Lead'
        and not lead_scores.is_converted

),

owner_tasks as (

    select
        open_leads.crm_id,
        min(tasks.created_at) as owner_first_task_at
    from open_leads
    inner join tasks
        on open_leads.crm_id = tasks.who_id
        and open_leads.crm_owner_id = tasks.owner_id
    -- a handoff Task leadscore created asks the owner to work the Lead; it is not work
    where {{ lead_scoring.is_rep_task('tasks') }}
    group by open_leads.crm_id

),

locations as (

    -- each distinct (country, state) once: the territory depends on nothing else, and the
    -- join below (an OR of conditions, so no hash join) runs per location, not per Lead;
    -- location_key keeps a missing value apart from an empty one
    select distinct
        lower(trim(country)) as country,
        upper(trim(state)) as state,
        {{ lead_scoring.territory_location_key('country', 'state') }} as location_key
    from open_leads

),

territory_candidates as (

    select
        locations.location_key,
        territories.territory,
        territories.team,
        territories.language,
        row_number() over (
            partition by locations.location_key
            order by
                case
                    when territories.state is not null then 1
                    when territories.country <> '*' then 2
                    else 3
                end,
                territories.territory
        ) as match_rank
    from locations
    inner join territories
        on (
            locations.country = lower(territories.country)
            and (territories.state is null or locations.state = upper(territories.state))
        )
        or territories.country = '*'

),

territory_matched as (

    select
        open_leads.crm_id,
        territory_candidates.territory,
        territory_candidates.team,
        territory_candidates.language
    from open_leads
    inner join territory_candidates
        on {{ lead_scoring.territory_location_key('open_leads.country', 'open_leads.state') }}
        = territory_candidates.location_key
    where territory_candidates.match_rank = 1

),

segment_matched as (

    select
        open_leads.crm_id,
        segments.segment
    from open_leads
    inner join segments
        on open_leads.number_of_employees >= segments.min_employees
        and (segments.max_employees is null or open_leads.number_of_employees < segments.max_employees)

),

final as (

    select
        -- ids
        open_leads.crm_id,
        open_leads.crm_owner_id,
        open_leads.matched_account_id,
        open_leads.account_owner_id,

        -- strings
        open_leads.matched_account_name,
        open_leads.matched_by,
        open_leads.matched_domain,
        open_leads.country,
        open_leads.state,
        open_leads.industry,
        territory_matched.territory,
        territory_matched.team,
        territory_matched.language,
        coalesce(segment_matched.segment, 'unknown') as segment,

        -- numerics
        open_leads.tier,
        open_leads.composite_score,
        open_leads.number_of_employees,

        -- booleans
        coalesce(open_leads.has_opted_out_of_email, false) as has_opted_out_of_email,
        coalesce(open_leads.is_do_not_call, false) as is_do_not_call,
        owner_tasks.owner_first_task_at is not null as is_worked_by_owner,

        -- timestamps
        owner_tasks.owner_first_task_at,
        open_leads.created_at

    from open_leads
    left join owner_tasks
        on open_leads.crm_id = owner_tasks.crm_id
    left join territory_matched
        on open_leads.crm_id = territory_matched.crm_id
    left join segment_matched
        on open_leads.crm_id = segment_matched.crm_id

)

select * from final
