{#- One row per Lead with the sales feedback its CRM Status carries (seeds/
    sales_feedback_statuses.csv): a Status without a seed row is 'unmapped', a Lead without a
    Status 'no_status'; neither is a negative outcome. -#}
with

leads as (

    select * from {{ ref('stg_salesforce__leads') }}

),

sales_feedback_statuses as (

    select * from {{ ref('sales_feedback_statuses') }}

),

final as (

    select
        -- ids
        leads.lead_id as crm_id,

        -- strings
        leads.lead_status,
        case
            when leads.lead_status is null then 'no_status'
            else coalesce(sales_feedback_statuses.sales_feedback, 'unmapped')
        end as sales_feedback,

        -- booleans
        coalesce(sales_feedback_statuses.is_negative_outcome, false) as is_negative_outcome

    from leads
    left join sales_feedback_statuses
        on leads.lead_status = sales_feedback_statuses.lead_status

)

select * from final
