{#- One row per scored person with what followed: the first opportunity (a Lead's converted
    opportunity, a Contact's own opportunities) and whether one was won, plus the tier the
    person was first assigned (the first row of marts.lead_score_history), the tier held
    just before the first opportunity, and the first hours the person held MQL (or SQL) and
    SQL (the funnel's stages). Contacts created by a Lead conversion are left out:
    their Lead carries the outcome. -#}
with

lead_scores as (

    select * from {{ ref('lead_scores') }}

),

lead_score_history as (

    select * from {{ ref('lead_score_history') }}

),

leads as (

    select * from {{ ref('stg_salesforce__leads') }}

),

opportunities as (

    select * from {{ ref('stg_salesforce__opportunities') }}

),

converted_contacts as (

    select distinct converted_contact_id as contact_id
    from leads
    where converted_contact_id is not null

),

person_opportunities as (

    select
        leads.lead_id as person_id,
        opportunities.opportunity_id,
        opportunities.is_won,
        opportunities.is_closed,
        opportunities.close_date,
        opportunities.created_at
    from leads
    inner join opportunities
        on leads.converted_opportunity_id = opportunities.opportunity_id
    union all
    select
        opportunities.contact_id as person_id,
        opportunities.opportunity_id,
        opportunities.is_won,
        opportunities.is_closed,
        opportunities.close_date,
        opportunities.created_at
    from opportunities
    where opportunities.contact_id is not null

),

outcomes as (

    select
        person_id,
        count(*) as opportunities,
        min(created_at) as first_opportunity_at,
        {{ dbt.bool_or('is_won') }} as has_won_opportunity,
        min(case when is_won then close_date end) as first_won_date
    from person_opportunities
    group by person_id

),

history_ranked as (

    select
        crm_id,
        scored_at,
        tier,
        composite_score,
        score_reasons,
        row_number() over (partition by crm_id order by scored_at asc) as first_rank
    from lead_score_history

),

first_assignment as (

    select
        crm_id,
        tier as assigned_tier,
        composite_score as assigned_composite_score,
        score_reasons as assigned_score_reasons,
        scored_at as assigned_at
    from history_ranked
    where first_rank = 1

),

stages_reached as (

    select
        crm_id,
        min(case when is_mql or is_sql then scored_at end) as first_mql_at,
        min(case when is_sql then scored_at end) as first_sql_at
    from lead_score_history
    group by crm_id

),

before_outcome_ranked as (

    select
        history_ranked.crm_id,
        history_ranked.tier,
        history_ranked.composite_score,
        history_ranked.score_reasons,
        history_ranked.scored_at,
        row_number() over (
            partition by history_ranked.crm_id order by history_ranked.scored_at desc
        ) as last_rank
    from history_ranked
    inner join outcomes
        on history_ranked.crm_id = outcomes.person_id
    where history_ranked.scored_at <= outcomes.first_opportunity_at

),

before_outcome as (

    select
        crm_id,
        tier as tier_before_opportunity,
        composite_score as composite_score_before_opportunity,
        score_reasons as score_reasons_before_opportunity
    from before_outcome_ranked
    where last_rank = 1

),

final as (

    select
        -- ids
        lead_scores.crm_id,
        lead_scores.crm_object,
        lead_scores.account_id,
        lead_scores.owner_id,

        -- strings
        lead_scores.score_reasons,
        first_assignment.assigned_score_reasons,
        coalesce(
            before_outcome.score_reasons_before_opportunity, first_assignment.assigned_score_reasons
        ) as score_reasons_before_opportunity,

        -- numerics
        lead_scores.tier,
        lead_scores.composite_score,
        lead_scores.fit_score,
        coalesce(first_assignment.assigned_tier, lead_scores.tier) as assigned_tier,
        coalesce(first_assignment.assigned_composite_score, lead_scores.composite_score)
            as assigned_composite_score,
        coalesce(before_outcome.tier_before_opportunity, first_assignment.assigned_tier, lead_scores.tier)
            as tier_before_opportunity,
        coalesce(outcomes.opportunities, 0) as opportunities,

        -- booleans
        lead_scores.is_disqualified,
        outcomes.person_id is not null as has_opportunity,
        -- the outcome was known when the person was first scored: no tier predicted it
        coalesce(
            outcomes.first_opportunity_at <= coalesce(first_assignment.assigned_at, lead_scores.scored_at), false
        ) as has_opportunity_before_first_score,
        coalesce(outcomes.has_won_opportunity, false) as has_won_opportunity,

        -- dates
        outcomes.first_won_date,

        -- timestamps
        coalesce(first_assignment.assigned_at, lead_scores.scored_at) as assigned_at,
        outcomes.first_opportunity_at,
        stages_reached.first_mql_at,
        stages_reached.first_sql_at,
        lead_scores.scored_at

    from lead_scores
    left join first_assignment
        on lead_scores.crm_id = first_assignment.crm_id
    left join before_outcome
        on lead_scores.crm_id = before_outcome.crm_id
    left join outcomes
        on lead_scores.crm_id = outcomes.person_id
    left join stages_reached
        on lead_scores.crm_id = stages_reached.crm_id
    left join converted_contacts
        on lead_scores.crm_id = converted_contacts.contact_id
    where converted_contacts.contact_id is null

)

select * from final
