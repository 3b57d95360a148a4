{#- The reverse-ETL payload of one person object (Lead or Contact): one row per writable
    record, columns named exactly as the Salesforce fields they fill (the allow-list).
    Converted Leads are read-only in Salesforce and are left out. -#}
{% macro person_sync_payload(crm_object) -%}
with

lead_scores as (

    select * from {{ ref('lead_scores') }}

),

final as (

    select
        crm_id as Id,
        composite_score as Lead_Score__c,
        fit_score as Fit_Score__c,
        intent_score as Intent_Score__c,
        {{ dbt.concat(["cast(tier as " ~ dbt.type_string() ~ ")", "' - '", 'tier_label']) }} as Lead_Tier__c,
        grade as Lead_Grade__c,
        score_reasons as Score_Reasons__c,
        scoring_model_version as Score_Model_Version__c,
        scored_at as Scored_At__c
    from lead_scores
    where crm_object = '{{ crm_object }}'
        and not is_converted

)

select * from final
{%- endmacro %}
