-- The benchmark's reference: marts.lead_scores' numbers (fit, intent, negative, composite,
-- tier) in one hand-written DuckDB query, straight from the raw tables and the seed CSVs.
-- It is the physical-limit anchor the dbt stage is measured against (not a dbt model, so it
-- uses DuckDB-only SQL freely). reference.py replaces @AS_OF@ with a timestamp literal and
-- @SEEDS@ with the seeds folder, and checks the result row for row against marts.lead_scores.
-- Keep it in step with dbt_project/models: tests/test_bench_reference.py fails otherwise.
with

-- seeds (typed as in seeds/_seeds.yml) -------------------------------------------------
fit_rules as (
    select * from read_csv('@SEEDS@/fit_rules.csv', header = true, auto_detect = false, columns = {
        'rule_id': 'varchar', 'attribute': 'varchar', 'operator': 'varchar', 'match_value': 'varchar',
        'min_value': 'double', 'max_value': 'double', 'points': 'double', 'label': 'varchar'})
),
title_patterns as (
    select * from read_csv('@SEEDS@/title_patterns.csv', header = true, auto_detect = false, columns = {
        'dimension': 'varchar', 'pattern': 'varchar', 'derived_value': 'varchar', 'priority': 'integer'})
),
intent_signals as (
    select * from read_csv('@SEEDS@/intent_signals.csv', header = true, auto_detect = false, columns = {
        'signal_id': 'varchar', 'event_type': 'varchar', 'url_pattern': 'varchar', 'priority': 'integer',
        'points': 'double', 'half_life_days': 'double', 'max_occurrences': 'integer',
        'cap_window_days': 'double', 'expiry_days': 'double', 'label': 'varchar'})
),
sequence_rules as (
    select * from read_csv('@SEEDS@/sequence_rules.csv', header = true, auto_detect = false, columns = {
        'sequence_id': 'varchar', 'step_1_signal_id': 'varchar', 'step_2_signal_id': 'varchar',
        'step_3_signal_id': 'varchar', 'within_days': 'double', 'points': 'double',
        'half_life_days': 'double', 'expiry_days': 'double', 'label': 'varchar'})
),
negative_rules as (
    select *, case when rule_type in ('careers_focus', 'inactive_days') then try_cast(match_value as double) end
        as threshold_value
    from read_csv('@SEEDS@/negative_rules.csv', header = true, auto_detect = false, columns = {
        'rule_id': 'varchar', 'rule_type': 'varchar', 'match_value': 'varchar', 'points': 'double',
        'is_disqualifier': 'boolean', 'label': 'varchar'})
),
email_domains as (
    select * from read_csv('@SEEDS@/email_domain_lists.csv', header = true, auto_detect = false, columns = {
        'list_name': 'varchar', 'domain': 'varchar'})
),
activity_types as (
    select * from read_csv('@SEEDS@/marketo_activity_types.csv', header = true, auto_detect = false, columns = {
        'activity_type_id': 'integer', 'event_type': 'varchar', 'activity_type_name': 'varchar'})
),
p as (
    pivot (select parameter, value from read_csv('@SEEDS@/scoring_parameters.csv', header = true,
        auto_detect = false, columns = {'parameter': 'varchar', 'value': 'double', 'description': 'varchar'}))
    on parameter using max(value)
),

-- CRM records: the latest version known at as_of, soft deletes removed --------------------
leads as (
    select * from raw_salesforce.lead where systemmodstamp <= @AS_OF@
    qualify row_number() over (partition by id order by systemmodstamp desc, _loaded_at desc) = 1
),
contacts as (
    select * from raw_salesforce.contact where systemmodstamp <= @AS_OF@
    qualify row_number() over (partition by id order by systemmodstamp desc, _loaded_at desc) = 1
),
accounts as (
    select * from raw_salesforce.account where systemmodstamp <= @AS_OF@
    qualify row_number() over (partition by id order by systemmodstamp desc, _loaded_at desc) = 1
),
people as (
    select
        id as person_id, 'Lead' as crm_object, convertedaccountid as account_id,
        nullif(lower(trim(email)), '') as email, title, industry, country,
        technologies__c as technologies, cast(numberofemployees as integer) as number_of_employees,
        cast(annualrevenue as double) as annual_revenue, coalesce(isconverted, false) as is_converted,
        coalesce(hasoptedoutofemail, false) as has_opted_out, emailbounceddate is not null as has_hard_bounced,
        createddate as created_at
    from leads
    where not coalesce(isdeleted, false) and createddate <= @AS_OF@
    union all
    select
        contacts.id, 'Contact', contacts.accountid, nullif(lower(trim(contacts.email)), ''), contacts.title,
        accounts.industry, coalesce(contacts.mailingcountry, accounts.billingcountry), accounts.technologies__c,
        cast(accounts.numberofemployees as integer), cast(accounts.annualrevenue as double), false,
        coalesce(contacts.hasoptedoutofemail, false), contacts.emailbounceddate is not null, contacts.createddate
    from contacts
    left join accounts on contacts.accountid = accounts.id and not coalesce(accounts.isdeleted, false)
    where not coalesce(contacts.isdeleted, false) and contacts.createddate <= @AS_OF@
),
title_matches as (
    select
        people.person_id,
        first(title_patterns.derived_value order by title_patterns.priority, title_patterns.derived_value)
            filter (where title_patterns.dimension = 'title_seniority') as title_seniority,
        first(title_patterns.derived_value order by title_patterns.priority, title_patterns.derived_value)
            filter (where title_patterns.dimension = 'title_function') as title_function
    from people
    inner join title_patterns on lower(trim(people.title)) like title_patterns.pattern
    group by people.person_id
),
titled as (
    select people.*, title_matches.title_seniority, title_matches.title_function
    from people
    left join title_matches on people.person_id = title_matches.person_id
),

-- duplicates: one person per normalised e-mail, survivor first ------------------------------
ranked as (
    select
        *,
        row_number() over (
            partition by coalesce(email, person_id)
            order by crm_object <> 'Contact', is_converted, created_at, person_id
        ) as survivor_rank
    from titled
),
keyed as (
    select
        *,
        first_value(person_id) over (partition by coalesce(email, person_id) order by survivor_rank)
            as person_key
    from ranked
),
merged as (
    select
        person_key,
        arg_min(account_id, survivor_rank) filter (where account_id is not null) as account_id,
        arg_min(email, survivor_rank) filter (where email is not null) as email,
        arg_min(title_seniority, survivor_rank) filter (where title_seniority is not null) as title_seniority,
        arg_min(title_function, survivor_rank) filter (where title_function is not null) as title_function,
        arg_min(industry, survivor_rank) filter (where industry is not null) as industry,
        arg_min(country, survivor_rank) filter (where country is not null) as country,
        arg_min(technologies, survivor_rank) filter (where technologies is not null) as technologies,
        arg_min(number_of_employees, survivor_rank) filter (where number_of_employees is not null)
            as number_of_employees,
        arg_min(annual_revenue, survivor_rank) filter (where annual_revenue is not null) as annual_revenue,
        bool_or(has_opted_out) as has_opted_out,
        bool_or(has_hard_bounced) as has_hard_bounced,
        min(created_at) as created_at
    from keyed
    group by person_key
),

-- fit ----------------------------------------------------------------------------------------
fit as (
    select merged.person_key, sum(fit_rules.points) as fit_points
    from merged
    cross join lateral (values
        ('industry', lower(trim(merged.industry)), null::double),
        ('country', lower(trim(merged.country)), null),
        ('title_seniority', lower(trim(merged.title_seniority)), null),
        ('title_function', lower(trim(merged.title_function)), null),
        ('technology', lower(trim(merged.technologies)), null),
        ('employees', null, merged.number_of_employees::double),
        ('annual_revenue', null, merged.annual_revenue)
    ) as attribute (name, text_value, numeric_value)
    inner join fit_rules
        on fit_rules.attribute = attribute.name
        and (
            (fit_rules.operator = 'equals' and attribute.text_value = lower(fit_rules.match_value))
            or (fit_rules.operator = 'contains' and position(lower(fit_rules.match_value) in attribute.text_value) > 0)
            or (fit_rules.operator = 'between' and attribute.numeric_value >= fit_rules.min_value
                and attribute.numeric_value < fit_rules.max_value)
        )
    group by merged.person_key
),

-- MAP activities, matched to people by CRM id, then e-mail ---------------------------------
marketo_leads as (
    select
        cast(id as bigint) as marketo_lead_id,
        coalesce(nullif(trim(sfdccontactid), ''), nullif(trim(sfdcleadid), '')) as crm_id,
        nullif(lower(trim(email)), '') as email
    from raw_map.marketo_leads
    qualify row_number() over (partition by id order by updatedat desc nulls last, _loaded_at desc) = 1
),
marketo_activities as (
    select * from raw_map.marketo_activities
    qualify row_number() over (partition by marketoguid order by _loaded_at desc, _line) = 1
),
events as (
    select * from raw_map.events
    qualify row_number() over (partition by event_id order by _loaded_at desc, _line) = 1
),
activities as (
    select
        marketo_activities.marketoguid as activity_id, marketo_leads.crm_id, marketo_leads.email,
        coalesce(
            activity_types.event_type,
            'unknown:' || cast(cast(marketo_activities.activitytypeid as integer) as varchar)
        ) as event_type,
        marketo_activities.primaryattributevalue as url, marketo_activities.activitydate as occurred_at
    from marketo_activities
    left join marketo_leads on cast(marketo_activities.leadid as bigint) = marketo_leads.marketo_lead_id
    left join activity_types on cast(marketo_activities.activitytypeid as integer) = activity_types.activity_type_id
    where marketo_activities.activitydate <= @AS_OF@
    union all
    select
        event_id, nullif(trim(crm_id), ''), nullif(lower(trim(email)), ''), lower(trim(event_type)), url, occurred_at
    from events
    where occurred_at <= @AS_OF@
),
email_keys as (
    select distinct email, person_key from keyed where email is not null
),
matched as (
    select distinct on (coalesce(by_id.person_key, by_email.person_key), activities.activity_id)
        coalesce(by_id.person_key, by_email.person_key) as person_key,
        activities.activity_id, activities.event_type, activities.url, activities.occurred_at,
        (epoch(@AS_OF@) - epoch(activities.occurred_at)) / 86400.0 as age_days
    from activities
    left join keyed as by_id on activities.crm_id = by_id.person_id
    left join email_keys as by_email on by_id.person_id is null and activities.email = by_email.email
    where coalesce(by_id.person_key, by_email.person_key) is not null
),
classified as (
    select matched.*, intent_signals.signal_id
    from matched
    inner join intent_signals
        on matched.event_type = intent_signals.event_type
        and (intent_signals.url_pattern is null or lower(matched.url) like intent_signals.url_pattern)
    qualify row_number() over (
        partition by matched.person_key, matched.activity_id
        order by intent_signals.priority, intent_signals.signal_id
    ) = 1
),

-- intent: decay, expiry, cap per window, recency bonus, sequences, account bonus --------------
decayed as (
    select
        classified.person_key, classified.signal_id, classified.age_days,
        intent_signals.points as base_points,
        intent_signals.points * power(0.5, classified.age_days / intent_signals.half_life_days) as points
    from classified
    inner join intent_signals on classified.signal_id = intent_signals.signal_id
    where classified.age_days <= intent_signals.expiry_days
    qualify row_number() over (
        partition by classified.person_key, classified.signal_id,
            cast(coalesce(floor(epoch(classified.occurred_at) / (intent_signals.cap_window_days * 86400)), 0) as bigint)
        order by classified.occurred_at desc, classified.activity_id
    ) <= intent_signals.max_occurrences
),
signals as (
    select person_key, sum(points) as points, min(age_days) filter (where base_points > 0) as scored_age_days
    from decayed
    group by person_key
),
completions as (
    select step_1.person_key, sequence_rules.sequence_id,
        max(coalesce(step_3.occurred_at, step_2.occurred_at)) as completed_at
    from sequence_rules
    inner join classified as step_1 on step_1.signal_id = sequence_rules.step_1_signal_id
    inner join classified as step_2
        on step_2.person_key = step_1.person_key and step_2.signal_id = sequence_rules.step_2_signal_id
        and step_1.occurred_at < step_2.occurred_at
        and sequence_rules.within_days >= (epoch(step_2.occurred_at) - epoch(step_1.occurred_at)) / 86400.0
    left join classified as step_3
        on step_3.person_key = step_2.person_key and step_3.signal_id = sequence_rules.step_3_signal_id
        and step_2.occurred_at < step_3.occurred_at
        and sequence_rules.within_days >= (epoch(step_3.occurred_at) - epoch(step_1.occurred_at)) / 86400.0
    where sequence_rules.step_3_signal_id is null or step_3.activity_id is not null
    group by all
),
sequences as (
    select person_key, sum(points) as points
    from (
        select completions.person_key,
            (epoch(@AS_OF@) - epoch(completions.completed_at)) / 86400.0 as age_days,
            sequence_rules.points * power(0.5, age_days / sequence_rules.half_life_days) as points,
            sequence_rules.expiry_days
        from completions
        inner join sequence_rules on completions.sequence_id = sequence_rules.sequence_id
    )
    where age_days <= expiry_days
    group by person_key
),
intent_before_bonus as (
    select
        merged.person_key, merged.account_id,
        coalesce(signals.points, 0)
        + case when signals.scored_age_days <= p.recency_bonus_days then p.recency_bonus_points else 0 end
        + coalesce(sequences.points, 0) as intent_points
    from merged
    cross join p
    left join signals on merged.person_key = signals.person_key
    left join sequences on merged.person_key = sequences.person_key
),
account_people as (
    select
        person_key, account_id,
        least(greatest(intent_points, 0), 100) as intent_score,
        case when least(greatest(intent_points, 0), 100) >= p.engagement_3_min_intent then 1 else 0 end as engaged
    from intent_before_bonus
    cross join p
    where account_id is not null
),
account_bonus as (
    select
        person_key,
        sum(engaged) over (partition by account_id) - engaged as engaged_colleagues,
        sum(intent_score) over (partition by account_id) - intent_score as colleague_points
    from account_people
),

-- negatives ---------------------------------------------------------------------------------
activity_summary as (
    select
        person_key,
        count(*) filter (where event_type = 'page_view') as page_views,
        count(*) filter (where event_type = 'page_view' and lower(url) like '%/careers%') as careers_page_views,
        bool_or(event_type = 'unsubscribe') as has_unsubscribe,
        bool_or(event_type = 'email_bounced_hard') as has_hard_bounce,
        max(occurred_at) as last_activity_at
    from matched
    group by person_key
),
negative_facts as (
    select
        merged.person_key, merged.title_seniority, lower(trim(merged.country)) as country,
        split_part(merged.email, '@', 2) in (select domain from email_domains where list_name = 'personal')
            as has_personal_domain,
        split_part(merged.email, '@', 2) in (select domain from email_domains where list_name = 'competitor')
            as has_competitor_domain,
        merged.has_opted_out or coalesce(activity_summary.has_unsubscribe, false) as is_unsubscribed,
        merged.has_hard_bounced or coalesce(activity_summary.has_hard_bounce, false) as is_hard_bounced,
        case when coalesce(activity_summary.page_views, 0) = 0 then 0.0
            else activity_summary.careers_page_views::double / activity_summary.page_views end as careers_share,
        (epoch(@AS_OF@) - epoch(coalesce(activity_summary.last_activity_at, merged.created_at))) / 86400.0
            as inactive_days
    from merged
    left join activity_summary on merged.person_key = activity_summary.person_key
),
negatives as (
    select negative_facts.person_key, sum(negative_rules.points) as negative_points,
        bool_or(negative_rules.is_disqualifier) as is_disqualified
    from negative_facts
    inner join negative_rules
        on (negative_rules.rule_type = 'personal_email_domain' and negative_facts.has_personal_domain)
        or (negative_rules.rule_type = 'competitor_email_domain' and negative_facts.has_competitor_domain)
        or (negative_rules.rule_type = 'title_seniority' and negative_facts.title_seniority = negative_rules.match_value)
        or (negative_rules.rule_type = 'unserviced_country' and negative_facts.country = lower(negative_rules.match_value))
        or (negative_rules.rule_type = 'unsubscribed' and negative_facts.is_unsubscribed)
        or (negative_rules.rule_type = 'hard_bounce' and negative_facts.is_hard_bounced)
        or (negative_rules.rule_type = 'careers_focus' and negative_facts.careers_share > negative_rules.threshold_value)
        or (negative_rules.rule_type = 'inactive_days' and negative_facts.inactive_days > negative_rules.threshold_value)
    group by negative_facts.person_key
),

-- scores per merged person, then per CRM record ---------------------------------------------
person_scores as (
    select
        intent_before_bonus.person_key,
        round(least(greatest(coalesce(fit.fit_points, 0), 0), 100)::decimal(28, 6), 0)::double as fit_score,
        round(least(greatest(
            intent_before_bonus.intent_points
            + case when account_bonus.engaged_colleagues >= 1 and account_bonus.colleague_points >= p.account_bonus_min_engagement
                then least(p.account_bonus_weight * least(greatest(account_bonus.colleague_points, 0), 100),
                    p.account_bonus_max_points)
                else 0 end,
            0), 100)::decimal(28, 6), 0)::double as intent_score,
        round(coalesce(negatives.negative_points, 0)::decimal(28, 6), 0)::double as negative_score,
        coalesce(negatives.is_disqualified, false) as is_disqualified
    from intent_before_bonus
    cross join p
    left join fit on intent_before_bonus.person_key = fit.person_key
    left join account_bonus on intent_before_bonus.person_key = account_bonus.person_key
    left join negatives on intent_before_bonus.person_key = negatives.person_key
),
composited as (
    select
        person_scores.*,
        round(least(greatest(p.fit_weight * fit_score + p.intent_weight * intent_score + negative_score, 0), 100)
            ::decimal(28, 6), 0)::double as composite_score
    from person_scores
    cross join p
)

select
    keyed.person_id as crm_id,
    composited.fit_score,
    composited.intent_score,
    composited.negative_score,
    composited.composite_score,
    case
        when composited.is_disqualified then 4
        when composited.composite_score >= p.tier1_threshold and composited.fit_score >= p.tier1_min_fit then 1
        when composited.composite_score >= p.tier2_threshold then 2
        when composited.composite_score >= p.tier3_threshold then 3
        else 4
    end as tier
from keyed
inner join composited on keyed.person_key = composited.person_key
cross join p
