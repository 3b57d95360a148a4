{#- Per merged person (person_key) facts from all their matched activities up to as_of
    (scored or not), used by the negative rules: last activity, careers-page share, unsubscribes, hard bounces. -#}
with

activities as (

    select * from {{ ref('int_activities_matched_to_people') }}
    {{ lead_scoring.fast_lane_scope('person_key', 'context') }}

),

flagged as (

    select
        person_key,
        occurred_at,
        case when event_type = 'page_view' then 1 else 0 end as is_page_view,
        case when event_type = 'page_view' and lower(url) like '%/careers%' then 1 else 0 end as is_careers_page_view,
        case when event_type = 'unsubscribe' then 1 else 0 end as is_unsubscribe,
        case when event_type = 'email_bounced_hard' then 1 else 0 end as is_hard_bounce
    from activities

),

final as (

    select
        person_key,
        count(*) as activity_count,
        sum(is_page_view) as page_view_count,
        sum(is_careers_page_view) as careers_page_view_count,
        sum(is_unsubscribe) > 0 as has_unsubscribe_event,
        sum(is_hard_bounce) > 0 as has_hard_bounce_event,
        max(occurred_at) as last_activity_at
    from flagged
    group by person_key

)

select * from final
