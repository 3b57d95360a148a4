{#- The fast lane's people (macros/fast_lane.sql): built only in its narrow build, from the
    hourly tables the minute just refreshed (int_people_unified, int_people_grouped_by_email)
    and the CRM ids the minute touched (source fast_lane.touched, written by
    plugins/lead_scoring/fast_lane.py). One row per id and scope:
    - scored: every record of a touched person's e-mail group (they share one score); the
      fast lane writes these rows over the hourly ones;
    - account: the Accounts of those records and the touched Accounts;
    - context: the records whose scores decide those: the scored ones and every e-mail group
      with a record at one of those Accounts (the account bonus reads the colleagues'
      intent). -#}
{{ config(enabled=lead_scoring.fast_lane_narrow()) }}

with

touched as (

    select crm_id from {{ source('fast_lane', 'touched') }}

),

people as (

    select * from {{ ref('int_people_unified') }}

),

grouped as (

    select * from {{ ref('int_people_grouped_by_email') }}

),

touched_keys as (

    select distinct grouped.person_key
    from grouped
    inner join touched
        on grouped.person_id = touched.crm_id

),

accounts as (

    select people.account_id
    from people
    inner join grouped
        on people.person_id = grouped.person_id
    inner join touched_keys
        on grouped.person_key = touched_keys.person_key
    where people.account_id is not null
    union
    select people.account_id
    from people
    inner join touched
        on people.account_id = touched.crm_id

),

keys as (

    select
        person_key,
        'scored' as scope
    from touched_keys
    union
    select
        person_key,
        'context' as scope
    from touched_keys
    union
    select
        grouped.person_key,
        'context' as scope
    from grouped
    inner join people
        on grouped.person_id = people.person_id
    inner join accounts
        on people.account_id = accounts.account_id

),

final as (

    select
        grouped.person_id as crm_id,
        keys.scope
    from grouped
    inner join keys
        on grouped.person_key = keys.person_key
    union all
    select
        account_id as crm_id,
        'account' as scope
    from accounts

)

select * from final
