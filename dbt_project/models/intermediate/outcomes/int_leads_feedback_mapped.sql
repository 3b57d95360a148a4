{#- One row per Lead with the sales feedback its CRM Status and disqualification reason carry
    (seeds/sales_feedback_statuses.csv): the row of its Status and reason (matched ignoring
    case and surrounding spaces) wins, else the row of its Status with an empty reason (any
    reason, or none); so Closed - Not Converted + Unable to contact is could_not_contact (no
    verdict) while Closed - Not Converted + Not a fit is unqualified. A Status without a seed
    row is 'unmapped', a Lead without a Status 'no_status'; neither is a negative outcome.
    An org without the reason field has it empty: the Status alone decides. -#}
with

leads as (

    select * from {{ ref('stg_salesforce__leads') }}

),

sales_feedback_statuses as (

    select * from {{ ref('sales_feedback_statuses') }}

),

status_rows as (

    select * from sales_feedback_statuses
    where disqualification_reason is null

),

reason_rows as (

    select * from sales_feedback_statuses
    where disqualification_reason is not null

),

final as (

    select
        -- ids
        leads.lead_id as crm_id,

        -- strings
        leads.lead_status,
        leads.disqualification_reason,
        case
            when leads.lead_status is null then 'no_status'
            else coalesce(reason_rows.sales_feedback, status_rows.sales_feedback, 'unmapped')
        end as sales_feedback,

        -- booleans
        coalesce(reason_rows.is_negative_outcome, status_rows.is_negative_outcome, false) as is_negative_outcome

    from leads
    left join reason_rows
        on leads.lead_status = reason_rows.lead_status
        and lower(trim(leads.disqualification_reason)) = lower(trim(reason_rows.disqualification_reason))
    left join status_rows
        on leads.lead_status = status_rows.lead_status

)

select * from final
