{#- The reverse-ETL payload of one person object (Lead or Contact): one row per writable
    record, columns named exactly as the Salesforce fields they fill (the allow-list).
    Converted Leads are read-only in Salesforce and are left out. Leads also carry routing:
    OwnerId (the routed owner), SLA_Due_At__c and SLA_Status__c (marts.lead_sla), and
    _crm_owner_id, the CRM's owner as extracted: a context column (leading underscore), never
    sent nor hashed, by which the write-back sends OwnerId only when routing changes the
    owner, so a row sent for its scores never echoes an owner a person may have changed
    since. Contacts carry no OwnerId: they stay with their account's owner. -#}
{% macro person_sync_payload(crm_object) -%}
with

lead_scores as (

    select * from {{ ref('lead_scores') }}

),
{%- if crm_object == 'Lead' %}

lead_routing as (

    select * from {{ ref('lead_routing') }}

),

lead_sla as (

    select * from {{ ref('lead_sla') }}

),
{%- endif %}

final as (

    select
        lead_scores.crm_id as Id,
        lead_scores.composite_score as Lead_Score__c,
        lead_scores.fit_score as Fit_Score__c,
        lead_scores.intent_score as Intent_Score__c,
        {{ dbt.concat(["cast(lead_scores.tier as " ~ dbt.type_string() ~ ")", "' - '", 'lead_scores.tier_label']) }} as Lead_Tier__c,
        lead_scores.grade as Lead_Grade__c,
        lead_scores.score_reasons as Score_Reasons__c,
        lead_scores.scoring_model_version as Score_Model_Version__c,
        lead_scores.conversion_probability as Conversion_Probability__c,
        lead_scores.scored_at as Scored_At__c
        {%- if crm_object == 'Lead' %},
        coalesce(lead_routing.owner_id, lead_scores.owner_id) as OwnerId,
        lead_sla.sla_due_at as SLA_Due_At__c,
        lead_sla.sla_status as SLA_Status__c,
        coalesce(lead_routing.crm_owner_id, lead_scores.owner_id) as _crm_owner_id
        {%- endif %}
    from lead_scores
    {%- if crm_object == 'Lead' %}
    left join lead_routing
        on lead_scores.crm_id = lead_routing.crm_id
    left join lead_sla
        on lead_scores.crm_id = lead_sla.crm_id
    {%- endif %}
    where lead_scores.crm_object = '{{ crm_object }}'
        and not lead_scores.is_converted

)

select * from final
{%- endmacro %}
