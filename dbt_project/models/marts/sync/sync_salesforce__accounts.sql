{#- Reverse-ETL payload for Salesforce Accounts: one row per Account, columns named exactly as
    the CRM fields they fill (the allow-list). -#}
with

account_scores as (

    select * from {{ ref('account_scores') }}

),

final as (

    select
        account_id as Id,
        account_score as Account_Score__c,
        account_fit_score as Account_Fit_Score__c,
        account_engagement_score as Account_Engagement_Score__c,
        engaged_people as Engaged_People__c,
        scoring_model_version as Score_Model_Version__c,
        scored_at as Scored_At__c
    from account_scores

)

select * from final
