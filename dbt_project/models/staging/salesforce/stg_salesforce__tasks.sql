{#- One row per Task (calls, emails by reps): the latest version known at as_of.
    leadscore_action_id is set on the Tasks leadscore created (handoff Tasks, keyed by
    Leadscore_Action_Id__c): they are not a rep's response nor a sign the rep worked the Lead. -#}
with

source as (

    select * from {{ source('salesforce', 'task') }}

),

versions as (

    select
        *,
        row_number() over (
            partition by id
            order by systemmodstamp desc, _loaded_at desc
        ) as version_rank
    from source
    where systemmodstamp <= {{ lead_scoring.as_of() }}

),

renamed as (

    select
        -- ids
        id as task_id,
        whoid as who_id,
        whatid as what_id,
        ownerid as owner_id,
        leadscore_action_id__c as leadscore_action_id,

        -- strings
        subject,
        type as task_type,
        status as task_status,

        -- dates
        activitydate as activity_date,

        -- timestamps
        createddate as created_at,
        systemmodstamp as system_modstamp_at

    from versions
    where version_rank = 1
        and not coalesce(isdeleted, false)

)

select * from renamed
