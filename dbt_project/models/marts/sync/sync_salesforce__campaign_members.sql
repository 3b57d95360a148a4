{#- Reverse-ETL payload of the nurture memberships (docs/write-back.md, Nurture): one row per
    scored person (an open Lead or a Contact) who should be a member of a nurture Campaign
    now: their tier has a row in the seed nurture_campaigns (Tier 3) and they may be e-mailed:
    an address, not opted out of e-mail in the CRM (HasOptedOutOfEmail on any of their
    records), no unsubscribe and no hard bounce (CRM EmailBouncedDate or a MAP event). People
    with an erasure request are in no model at all. A Lead routing recycled after max_attempts
    owner Tasks without a response (marts.lead_routing, recycled_after_attempts) is a member of
    the campaign marked has_recycled_members, whatever its tier, while it stays recycled. Columns are CampaignMember fields; the
    write-back finds the Campaign by _campaign_name (a marketer's Campaign) and fills
    CampaignId, creates each row once (an upsert on Leadscore_Action_Id__c) and deletes the
    members it created whose key is no longer here.
    The key is 'nurture:<campaign>:<person Id>:<epoch seconds of entered_at>', entered_at the
    first hour of the person's current stay in the tier (marts.lead_score_history): the same
    on every run while they stay, a new one when they come back after leaving (the old member
    was deleted by then); for a recycled Lead (not in a nurture tier) the recycling's
    assigned_at. Context columns (leading underscore) are never sent. -#}
with

lead_scores as (

    select * from {{ ref('lead_scores') }}

),

lead_score_history as (

    select * from {{ ref('lead_score_history') }}

),

people as (

    select * from {{ ref('int_people_deduplicated') }}

),

activity_summary as (

    select * from {{ ref('int_people_activity_summarized') }}

),

nurture_campaigns as (

    select * from {{ ref('nurture_campaigns') }}

),

lead_routing as (

    select * from {{ ref('lead_routing') }}

),

recycled as (

    select
        crm_id,
        assigned_at as recycled_at
    from lead_routing
    where routing_rule = 'recycled_after_attempts'

),

recycle_campaigns_ranked as (

    select
        campaign_name,
        member_status,
        row_number() over (order by tier desc) as campaign_rank
    from nurture_campaigns
    where has_recycled_members

),

recycle_campaign as (

    select * from recycle_campaigns_ranked
    where campaign_rank = 1

),

emailable as (

    select
        lead_scores.crm_id,
        lead_scores.crm_object,
        lead_scores.email,
        lead_scores.tier
    from lead_scores
    left join people
        on lead_scores.person_key = people.person_key
    left join activity_summary
        on lead_scores.person_key = activity_summary.person_key
    where not lead_scores.is_converted
        and lead_scores.email is not null
        and not coalesce(people.has_opted_out_of_email, false)
        and not coalesce(people.has_hard_bounced, false)
        and not coalesce(activity_summary.has_unsubscribe_event, false)
        and not coalesce(activity_summary.has_hard_bounce_event, false)

),

history as (

    select
        crm_id,
        tier,
        scored_at
    from lead_score_history
    where scored_at <= {{ lead_scoring.as_of() }}

),

last_left as (

    {#- the last hour each person held another tier than their nurture tier now -#}
    select
        history.crm_id,
        max(history.scored_at) as left_at
    from history
    inner join emailable
        on history.crm_id = emailable.crm_id
    where history.tier <> emailable.tier
    group by history.crm_id

),

entered as (

    select
        history.crm_id,
        min(history.scored_at) as entered_at
    from history
    inner join emailable
        on history.crm_id = emailable.crm_id
        and history.tier = emailable.tier
    left join last_left
        on history.crm_id = last_left.crm_id
    where last_left.left_at is null
        or history.scored_at > last_left.left_at
    group by history.crm_id

),

tier_members as (

    select
        emailable.*,
        nurture_campaigns.campaign_name,
        nurture_campaigns.member_status,
        entered.entered_at
    from emailable
    inner join nurture_campaigns
        on emailable.tier = nurture_campaigns.tier
    left join entered
        on emailable.crm_id = entered.crm_id

),

recycled_members as (

    select
        emailable.*,
        recycle_campaign.campaign_name,
        recycle_campaign.member_status,
        recycled.recycled_at as entered_at
    from emailable
    inner join recycled
        on emailable.crm_id = recycled.crm_id
    cross join recycle_campaign
    left join tier_members
        on emailable.crm_id = tier_members.crm_id
    where tier_members.crm_id is null

),

members as (

    select * from tier_members
    union all
    select * from recycled_members

),

final as (

    select
        {{ dbt.concat([
            "'nurture:'", 'campaign_name', "':'", 'crm_id', "':'",
            "cast(cast(coalesce(" ~ lead_scoring.epoch_seconds('entered_at') ~ ", 0) as "
            ~ dbt.type_bigint() ~ ") as " ~ dbt.type_string() ~ ")",
        ]) }} as Leadscore_Action_Id__c,
        case when crm_object = 'Lead' then crm_id end as LeadId,
        case when crm_object = 'Contact' then crm_id end as ContactId,
        member_status as Status,
        campaign_name as _campaign_name,
        'nurture' as _action_kind,
        tier as _tier,
        entered_at as _triggered_at
    from members

)

select * from final
