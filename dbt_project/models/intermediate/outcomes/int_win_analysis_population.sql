{#- The people the win analysis learns from (int_fit_bands_rated, int_attribute_values_counted):
    every scored person of int_people_outcomes_joined with their fit score and outcome, except
    a Lead without an opportunity that sales could not contact (sales_feedback
    could_not_contact, seeds/sales_feedback_statuses.csv): its outcome is unknown, not
    negative. A Lead sales marked unqualified stays a negative outcome. -#}
with

people_outcomes as (

    select * from {{ ref('int_people_outcomes_joined') }}

),

leads_feedback as (

    select * from {{ ref('int_leads_feedback_mapped') }}

),

final as (

    select
        -- ids
        people_outcomes.crm_id as person_id,

        -- numerics
        people_outcomes.fit_score,

        -- booleans
        people_outcomes.has_opportunity

    from people_outcomes
    left join leads_feedback
        on people_outcomes.crm_id = leads_feedback.crm_id
    where people_outcomes.has_opportunity
        or coalesce(leads_feedback.sales_feedback, 'no_status') <> 'could_not_contact'

)

select * from final
