{#- The people the score was wrong about, with the reasons it gave.
    false_positive: first assigned Tier 1-2 and still no opportunity
    var('accuracy_window_days') (default 30) days after the assignment.
    false_negative: got an opportunity while holding Tier 3-4 (the tier just before the
    opportunity; the first assigned tier when the history starts later).
    Each row carries the sales feedback of the Lead's CRM Status and disqualification reason
    (int_leads_feedback_mapped):
    a false positive sales marked unqualified is confirmed, one they could not contact is not
    (no verdict on the score); Contacts have none (no_status). -#}
with

people_outcomes as (

    select * from {{ ref('int_people_outcomes_joined') }}

),

leads_feedback as (

    select * from {{ ref('int_leads_feedback_mapped') }}

),

aged as (

    select
        *,
        {{ lead_scoring.age_in_days('assigned_at', lead_scoring.as_of()) }} as days_since_assignment
    from people_outcomes

),

classified as (

    select
        *,
        case
            when assigned_tier <= 2
                and not has_opportunity
                and days_since_assignment >= {{ var('accuracy_window_days', 30) }}
                then 'false_positive'
            when has_opportunity and tier_before_opportunity >= 3
                then 'false_negative'
        end as error_type
    from aged

),

with_feedback as (

    select
        classified.*,
        leads_feedback.lead_status,
        leads_feedback.disqualification_reason,
        coalesce(leads_feedback.sales_feedback, 'no_status') as sales_feedback,
        coalesce(leads_feedback.is_negative_outcome, false) as is_negative_outcome
    from classified
    left join leads_feedback
        on classified.crm_id = leads_feedback.crm_id

),

final as (

    select
        -- ids
        crm_id,
        crm_object,
        account_id,
        owner_id,

        -- strings
        error_type,
        case
            when error_type = 'false_positive' then assigned_score_reasons
            else score_reasons_before_opportunity
        end as score_reasons_at_assignment,
        score_reasons as current_score_reasons,
        lead_status,
        disqualification_reason,
        sales_feedback,

        -- numerics
        assigned_tier,
        assigned_composite_score,
        tier_before_opportunity,
        tier as current_tier,
        composite_score as current_composite_score,
        {{ lead_scoring.round_to('days_since_assignment', 1) }} as days_since_assignment,

        -- booleans
        has_opportunity,
        has_won_opportunity,
        is_negative_outcome,

        -- timestamps
        assigned_at,
        first_opportunity_at

    from with_feedback
    where error_type is not null

)

select * from final
