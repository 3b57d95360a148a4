{#- One row per (record, enabled rule of seeds/alert_rules.csv, window) that fires as of
    var('as_of'), with the numbers behind it. alert_id is the key ops.alerts keeps, the same on
    every run and engine: '<rule_kind>:<rule_id>:<crm_id>:<window start>', so however many runs
    see a firing, it is raised once.
      score_jump       the ledger rows (marts.lead_score_history) in force during the last
                       window_hours: the one in force at as_of - window_hours and those after it.
                       Fires when the latest one's composite is min_points or more above the
                       lowest (its earliest row at that score is the window start). A later,
                       bigger rise from the same low point is the same alert.
      tier_up          a ledger row within the last window_hours at to_tier or better whose
                       previous row was worse: one alert per crossing (the window start).
      signal           activities of signal_id (int_activities_classified) within the last
                       window_hours, grouped by the fixed window of window_hours from
                       1970-01-01 UTC they fall in (the window start): one alert per person
                       and window, however many visits (a visit arriving late still fires).
      account_engaged  distinct people of an Account with a positive-points signal in a fixed
                       window (the one as_of is in, or the one before): min_people or more
                       fire once for the Account and window. -#}
with

alert_rules as (

    select * from {{ ref('alert_rules') }}

),

lead_score_history as (

    select * from {{ ref('lead_score_history') }}
    {{ lead_scoring.fast_lane_scope('crm_id', 'scored') }}

),

lead_scores as (

    select * from {{ ref('lead_scores') }}

),

activities as (

    select * from {{ ref('int_activities_classified') }}
    {{ lead_scoring.fast_lane_scope('person_key', 'scored') }}

),

intent_signals as (

    select * from {{ ref('intent_signals') }}

),

enabled_rules as (

    select
        alert_rules.*,
        {{ dbt.dateadd('hour', '-1 * alert_rules.window_hours', lead_scoring.as_of()) }} as lookback_from,
        {{ lead_scoring.fixed_window_start(
            dbt.dateadd('hour', '-1 * alert_rules.window_hours', lead_scoring.as_of()),
            'alert_rules.window_hours',
        ) }} as earliest_window_start
    from alert_rules
    where alert_rules.is_enabled

),

-- score_jump and tier_up: the score ledger up to as_of, each row with when the next one replaced it
ledger_rows as (

    select
        crm_id,
        crm_object,
        composite_score,
        tier,
        previous_composite_score,
        previous_tier,
        scored_at,
        lead(scored_at) over (partition by crm_id order by scored_at) as replaced_at
    from lead_score_history
    where scored_at <= {{ lead_scoring.as_of() }}

),

jump_rows as (

    select
        enabled_rules.rule_id,
        enabled_rules.min_points,
        enabled_rules.lookback_from,
        ledger_rows.crm_id,
        ledger_rows.crm_object,
        ledger_rows.composite_score,
        ledger_rows.tier,
        ledger_rows.scored_at,
        ledger_rows.replaced_at,
        row_number() over (
            partition by enabled_rules.rule_id, ledger_rows.crm_id
            order by ledger_rows.composite_score, ledger_rows.scored_at
        ) as low_rank
    from enabled_rules
    inner join ledger_rows
        on ledger_rows.replaced_at is null
        or enabled_rules.lookback_from < ledger_rows.replaced_at
    where enabled_rules.rule_kind = 'score_jump'

),

jump_lows as (

    select * from jump_rows
    where low_rank = 1

),

jump_latest as (

    select * from jump_rows
    where replaced_at is null

),

score_jumps as (

    select
        jump_latest.rule_id,
        jump_latest.crm_id,
        jump_latest.crm_object,
        jump_latest.composite_score,
        jump_lows.composite_score as baseline_score,
        jump_latest.tier,
        cast(null as {{ dbt.type_string() }}) as signal_id,
        cast(null as {{ dbt.type_int() }}) as occurrences,
        jump_lows.scored_at as window_started_at,
        jump_latest.scored_at as triggered_at,
        {{ dbt.concat([
            "'score '", lead_scoring.int_text('jump_lows.composite_score'),
            "' → '", lead_scoring.int_text('jump_latest.composite_score'),
            "' ('", lead_scoring.signed_int_text('jump_latest.composite_score - jump_lows.composite_score'),
            "') since '",
            lead_scoring.minute_text(
                'case when jump_lows.scored_at > jump_latest.lookback_from then jump_lows.scored_at '
                ~ 'else jump_latest.lookback_from end'
            ),
            "' UTC, now Tier '", lead_scoring.int_text('jump_latest.tier'),
        ]) }} as reason
    from jump_latest
    inner join jump_lows
        on jump_latest.rule_id = jump_lows.rule_id
        and jump_latest.crm_id = jump_lows.crm_id
    where jump_latest.composite_score - jump_lows.composite_score >= jump_latest.min_points

),

tier_crossings as (

    select
        enabled_rules.rule_id,
        ledger_rows.crm_id,
        ledger_rows.crm_object,
        ledger_rows.composite_score,
        ledger_rows.previous_composite_score as baseline_score,
        ledger_rows.tier,
        cast(null as {{ dbt.type_string() }}) as signal_id,
        cast(null as {{ dbt.type_int() }}) as occurrences,
        ledger_rows.scored_at as window_started_at,
        ledger_rows.scored_at as triggered_at,
        {{ dbt.concat([
            "'up to Tier '", lead_scoring.int_text('ledger_rows.tier'),
            "' from Tier '", lead_scoring.int_text('ledger_rows.previous_tier'),
            "' at '", lead_scoring.minute_text('ledger_rows.scored_at'),
            "' UTC, score '", lead_scoring.int_text('ledger_rows.previous_composite_score'),
            "' → '", lead_scoring.int_text('ledger_rows.composite_score'),
        ]) }} as reason
    from enabled_rules
    inner join ledger_rows
        on enabled_rules.lookback_from < ledger_rows.scored_at
        and enabled_rules.to_tier >= ledger_rows.tier
        and enabled_rules.to_tier < ledger_rows.previous_tier
    where enabled_rules.rule_kind = 'tier_up'

),

-- signal and account_engaged: activities in the fixed windows the rule looks at
windowed_activities as (

    select
        enabled_rules.rule_id,
        enabled_rules.rule_kind,
        enabled_rules.signal_id as rule_signal_id,
        enabled_rules.min_people,
        activities.person_key,
        activities.signal_id,
        activities.occurred_at,
        {{ lead_scoring.fixed_window_start('activities.occurred_at', 'enabled_rules.window_hours') }}
            as window_started_at
    from enabled_rules
    inner join activities
        on enabled_rules.earliest_window_start <= activities.occurred_at
        and activities.occurred_at <= {{ lead_scoring.as_of() }}
    inner join intent_signals
        on activities.signal_id = intent_signals.signal_id
    where (
        enabled_rules.rule_kind = 'signal'
        and activities.signal_id = enabled_rules.signal_id
        and activities.occurred_at > enabled_rules.lookback_from
    )
    or (enabled_rules.rule_kind = 'account_engaged' and intent_signals.points > 0)

),

signal_windows as (

    select
        rule_id,
        person_key,
        signal_id,
        window_started_at,
        count(*) as occurrences,
        min(occurred_at) as first_occurred_at,
        max(occurred_at) as last_occurred_at
    from windowed_activities
    where rule_kind = 'signal'
    group by rule_id, person_key, signal_id, window_started_at

),

signals as (

    select
        signal_windows.rule_id,
        lead_scores.crm_id,
        lead_scores.crm_object,
        lead_scores.composite_score,
        cast(null as {{ dbt.type_float() }}) as baseline_score,
        lead_scores.tier,
        signal_windows.signal_id,
        cast(signal_windows.occurrences as {{ dbt.type_int() }}) as occurrences,
        signal_windows.window_started_at,
        signal_windows.first_occurred_at as triggered_at,
        {{ dbt.concat([
            'intent_signals.label', "' at '", lead_scoring.minute_text('signal_windows.first_occurred_at'),
            "' UTC'",
            "case when signal_windows.occurrences > 1 then "
                ~ dbt.concat([
                    "' ('", lead_scoring.int_text('signal_windows.occurrences'), "' times, last '",
                    lead_scoring.minute_text('signal_windows.last_occurred_at'), "' UTC)'",
                ])
                ~ " else '' end",
            "', score '", lead_scoring.int_text('lead_scores.composite_score'),
            "', Tier '", lead_scoring.int_text('lead_scores.tier'),
        ]) }} as reason
    from signal_windows
    inner join lead_scores
        on signal_windows.person_key = lead_scores.person_key
    inner join intent_signals
        on signal_windows.signal_id = intent_signals.signal_id

),

engaged_people as (

    select distinct
        windowed_activities.rule_id,
        windowed_activities.min_people,
        windowed_activities.window_started_at,
        windowed_activities.person_key,
        lead_scores.account_id
    from windowed_activities
    inner join lead_scores
        on windowed_activities.person_key = lead_scores.person_key
    where windowed_activities.rule_kind = 'account_engaged'
        and lead_scores.account_id is not null

),

engaged_activity_times as (

    select
        windowed_activities.rule_id,
        windowed_activities.window_started_at,
        engaged_people.account_id,
        min(windowed_activities.occurred_at) as first_occurred_at,
        max(windowed_activities.occurred_at) as last_occurred_at
    from windowed_activities
    inner join engaged_people
        on windowed_activities.rule_id = engaged_people.rule_id
        and windowed_activities.window_started_at = engaged_people.window_started_at
        and windowed_activities.person_key = engaged_people.person_key
    group by windowed_activities.rule_id, windowed_activities.window_started_at, engaged_people.account_id

),

engaged_accounts as (

    select
        rule_id,
        account_id,
        window_started_at,
        min(min_people) as min_people,
        count(*) as people
    from engaged_people
    group by rule_id, account_id, window_started_at

),

accounts_engaged as (

    select
        engaged_accounts.rule_id,
        engaged_accounts.account_id as crm_id,
        'Account' as crm_object,
        cast(null as {{ dbt.type_float() }}) as composite_score,
        cast(null as {{ dbt.type_float() }}) as baseline_score,
        cast(null as {{ dbt.type_int() }}) as tier,
        cast(null as {{ dbt.type_string() }}) as signal_id,
        cast(engaged_accounts.people as {{ dbt.type_int() }}) as occurrences,
        engaged_accounts.window_started_at,
        engaged_activity_times.last_occurred_at as triggered_at,
        {{ dbt.concat([
            lead_scoring.int_text('engaged_accounts.people'),
            "' people engaged between '", lead_scoring.minute_text('engaged_activity_times.first_occurred_at'),
            "' and '", lead_scoring.minute_text('engaged_activity_times.last_occurred_at'), "' UTC'",
        ]) }} as reason
    from engaged_accounts
    inner join engaged_activity_times
        on engaged_accounts.rule_id = engaged_activity_times.rule_id
        and engaged_accounts.account_id = engaged_activity_times.account_id
        and engaged_accounts.window_started_at = engaged_activity_times.window_started_at
    where engaged_accounts.people >= engaged_accounts.min_people

),

unioned as (

    select * from score_jumps
    union all
    select * from tier_crossings
    union all
    select * from signals
    union all
    select * from accounts_engaged

),

final as (

    select
        -- ids
        {{ dbt.concat([
            'enabled_rules.rule_kind', "':'", 'unioned.rule_id', "':'", 'unioned.crm_id', "':'",
            lead_scoring.second_key_text('unioned.window_started_at'),
        ]) }} as alert_id,
        unioned.rule_id,
        unioned.crm_id,

        -- strings
        enabled_rules.rule_kind,
        unioned.crm_object,
        enabled_rules.notify,
        enabled_rules.label as rule_label,
        unioned.signal_id,
        unioned.reason,

        -- numerics
        unioned.composite_score,
        unioned.baseline_score,
        unioned.tier,
        unioned.occurrences,
        enabled_rules.window_hours,

        -- timestamps
        unioned.window_started_at,
        unioned.triggered_at

    from unioned
    inner join enabled_rules
        on unioned.rule_id = enabled_rules.rule_id

)

select * from final
