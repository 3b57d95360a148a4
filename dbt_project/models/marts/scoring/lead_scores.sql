{#- One row per scored CRM person (Lead or Contact) as of var('as_of'): fit, intent,
    negative, composite, grade, tier, MQL/SQL flags and the reasons. Every number is a sum of
    rows in intermediate.int_score_contributions_unioned (summed per component in
    int_people_contributions_summarized). score_reasons speaks in composite points: each
    component's share of the composite (after its clamp and weight), its largest
    contributions scaled the same way (int_score_reasons_ranked) and the rest, so that
    "72 = Fit 46 [...] + Intent 26 [...]" adds up (docs/scoring.md#reasons). Records with the same normalised
    e-mail are one person (person_key): they get identical scores, and duplicate_group lists
    their crm_ids. With a promoted learned points table (int_people_predictive_scored), the
    composite blends the rules and the model's predictive_score by the predictive_weight
    parameter, its top bins join the reasons and its version the scoring_model_version.
    During an A/B pilot (docs/scoring.md#pilot), a challenger-arm person's row is the
    challenger's (pilot_marts.lead_scores, built this run before this build): its score, tier
    and reasons decide routing, SLA and the CRM fields; both scores stay in the pilot columns. -#}
{{ config(
    pre_hook=[
        "{{ lead_scoring.drop_previous_scores() }}",
        "{{ lead_scoring.keep_previous_scores() }}",
    ],
) }}
with

people as (

    select * from {{ ref('int_people_titles_classified') }}
    {{ lead_scoring.fast_lane_scope('person_id', 'scored') }}

),

grouped as (

    select * from {{ ref('int_people_grouped_by_email') }}

),

contribution_totals as (

    select * from {{ ref('int_people_contributions_summarized') }}

),

reasons_ranked as (

    select * from {{ ref('int_score_reasons_ranked') }}

),

parameters as (

    select * from {{ ref('int_scoring_parameters_pivoted') }}

),

model_version as (

    select * from {{ ref('int_scoring_model_versioned') }}

),

predictive as (

    select * from {{ ref('int_people_predictive_scored') }}

),

scored as (

    select
        people.person_id,
        grouped.person_key,
        grouped.duplicate_group,
        grouped.duplicate_count,
        people.crm_object,
        people.email,
        people.account_id,
        people.owner_id,
        people.is_converted,
        contribution_totals.fit_points,
        contribution_totals.intent_points,
        predictive.predictive_reasons,
        predictive.predictive_listed_points,
        predictive.predictive_model_version,
        predictive.predictive_score,
        predictive.conversion_probability,
        {{ lead_scoring.round_to(lead_scoring.clamp('coalesce(contribution_totals.fit_points, 0)', 0, 100), 0) }}
            as fit_score,
        {{ lead_scoring.round_to(lead_scoring.clamp('coalesce(contribution_totals.intent_points, 0)', 0, 100), 0) }}
            as intent_score,
        {{ lead_scoring.round_to('coalesce(contribution_totals.negative_points, 0)', 0) }} as negative_score,
        coalesce(contribution_totals.has_disqualifier, false) as is_disqualified
    from people
    left join grouped
        on people.person_id = grouped.person_id
    left join contribution_totals
        on grouped.person_key = contribution_totals.person_key
    left join predictive
        on people.person_id = predictive.person_id

),

weighted as (

    select
        scored.*,
        case
            when scored.predictive_score is null then 0
            else parameters.predictive_weight
        end as model_weight
    from scored
    cross join parameters

),

unclamped as (

    select
        weighted.*,
        {{ lead_scoring.round_to(
            '(1 - weighted.model_weight) * (parameters.fit_weight * weighted.fit_score + parameters.intent_weight * weighted.intent_score)'
            ~ ' + weighted.model_weight * coalesce(weighted.predictive_score, 0) + weighted.negative_score',
            0) }} as unclamped_score
    from weighted
    cross join parameters

),

composited as (

    select
        unclamped.*,
        {{ lead_scoring.clamp('unclamped.unclamped_score', 0, 100) }} as composite_score
    from unclamped

),

tiered as (

    select
        composited.*,
        case
            when composited.is_disqualified then 4
            when composited.composite_score >= parameters.tier1_threshold
                and composited.fit_score >= parameters.tier1_min_fit then 1
            when composited.composite_score >= parameters.tier2_threshold then 2
            when composited.composite_score >= parameters.tier3_threshold then 3
            else 4
        end as tier,
        case
            when composited.fit_score >= parameters.grade_a_min_fit then 'A'
            when composited.fit_score >= parameters.grade_b_min_fit then 'B'
            when composited.fit_score >= parameters.grade_c_min_fit then 'C'
            else 'D'
        end as grade_letter,
        case
            when composited.intent_score >= parameters.engagement_1_min_intent then '1'
            when composited.intent_score >= parameters.engagement_2_min_intent then '2'
            when composited.intent_score >= parameters.engagement_3_min_intent then '3'
            else '4'
        end as engagement_digit,
        (
            not composited.is_disqualified
            and composited.composite_score >= parameters.mql_threshold
        ) as is_mql,
        (
            not composited.is_disqualified
            and composited.composite_score >= parameters.sql_threshold
            and composited.fit_score >= parameters.tier1_min_fit
        ) as is_sql
    from composited
    cross join parameters

),

shares as (

    select
        tiered.*,
        (1 - tiered.model_weight) * parameters.fit_weight * tiered.fit_score as fit_share,
        (1 - tiered.model_weight) * parameters.intent_weight * tiered.intent_score as intent_share,
        tiered.model_weight * coalesce(tiered.predictive_score, 0) as model_share,
        case
            when coalesce(tiered.fit_points, 0) <> 0
                then (1 - tiered.model_weight) * parameters.fit_weight * tiered.fit_score / tiered.fit_points
            else 0
        end as fit_factor,
        case
            when coalesce(tiered.intent_points, 0) <> 0
                then (1 - tiered.model_weight) * parameters.intent_weight
                    * tiered.intent_score / tiered.intent_points
            else 0
        end as intent_factor
    from tiered
    cross join parameters

),

reason_items as (

    select
        shares.person_id,
        reasons_ranked.component,
        reasons_ranked.label,
        reasons_ranked.latest_on,
        reasons_ranked.reason_rank,
        reasons_ranked.component_reasons,
        {{ lead_scoring.round_to(
            'reasons_ranked.points * case reasons_ranked.component'
            ~ " when 'fit' then shares.fit_factor when 'intent' then shares.intent_factor else 1 end",
            0) }} as composite_points
    from reasons_ranked
    inner join shares
        on reasons_ranked.person_key = shares.person_key

),

reason_lists as (

    select
        person_id,
        component,
        -- (nullif: Spark's aggregate of no item is '', the other engines' NULL)
        nullif({{ lead_scoring.ordered_listagg(
            "case when composite_points <> 0 then "
            ~ dbt.concat([
                'label',
                "' '",
                lead_scoring.signed_int_text('composite_points'),
                "coalesce(" ~ dbt.concat(["' ('", "cast(latest_on as " ~ dbt.type_string() ~ ")", "')'"]) ~ ", '')",
            ]) ~ " end",
            ', ', 'reason_rank') }}, '') as listed,
        sum(composite_points) as listed_points,
        max(component_reasons) - sum(case when composite_points <> 0 then 1 else 0 end) as more_reasons
    from reason_items
    group by person_id, component

),

reasons_pivoted as (

    select
        person_id,
        max(case when component = 'fit' then listed end) as fit_listed,
        max(case when component = 'fit' then listed_points end) as fit_listed_points,
        max(case when component = 'fit' then more_reasons end) as fit_more,
        max(case when component = 'intent' then listed end) as intent_listed,
        max(case when component = 'intent' then listed_points end) as intent_listed_points,
        max(case when component = 'intent' then more_reasons end) as intent_more,
        max(case when component = 'negative' then listed end) as negative_listed,
        max(case when component = 'negative' then listed_points end) as negative_listed_points,
        max(case when component = 'negative' then more_reasons end) as negative_more
    from reason_lists
    group by person_id

),

headers as (

    -- each component's share rounded, intent taking what rounding leaves, so that the
    -- components add up to the unclamped composite (which the composite clamps to 0-100)
    select
        shares.*,
        {{ lead_scoring.round_to('shares.fit_share', 0) }} as fit_header,
        {{ lead_scoring.round_to('shares.model_share', 0) }} as model_header
    from shares

),

explained as (

    select
        headers.*,
        {{ dbt.concat([
            lead_scoring.int_text('headers.composite_score'),
            "case when headers.unclamped_score > 100 then "
                ~ dbt.concat(["' (capped from '", lead_scoring.int_text('headers.unclamped_score'), "')'"])
                ~ " when headers.unclamped_score < 0 then "
                ~ dbt.concat(["' (floored from '", lead_scoring.int_text('headers.unclamped_score'), "')'"])
                ~ " else '' end",
            "' = '",
            lead_scoring.reason_component(
                'Fit', 'headers.fit_header', 'reasons_pivoted.fit_listed',
                'reasons_pivoted.fit_listed_points', 'reasons_pivoted.fit_more',
                lead_scoring.more_reasons_label('reasons_pivoted.fit_more')),
            "' + '",
            lead_scoring.reason_component(
                'Intent',
                '(headers.unclamped_score - headers.fit_header - headers.model_header - headers.negative_score)',
                'reasons_pivoted.intent_listed', 'reasons_pivoted.intent_listed_points',
                'reasons_pivoted.intent_more',
                lead_scoring.more_reasons_label('reasons_pivoted.intent_more')),
            "case when headers.model_weight > 0 then "
                ~ dbt.concat(["' + '", lead_scoring.reason_component(
                    'Model', 'headers.model_header', 'headers.predictive_reasons',
                    'headers.predictive_listed_points', '0', "'other features'")])
                ~ " else '' end",
            "case when headers.negative_score <> 0 or reasons_pivoted.negative_listed is not null then "
                ~ dbt.concat(["' + '", lead_scoring.reason_component(
                    'Negative', 'headers.negative_score', 'reasons_pivoted.negative_listed',
                    'reasons_pivoted.negative_listed_points', 'reasons_pivoted.negative_more',
                    lead_scoring.more_reasons_label('reasons_pivoted.negative_more'))])
                ~ " else '' end",
        ]) }} as score_reasons
    from headers
    left join reasons_pivoted
        on headers.person_id = reasons_pivoted.person_id

),

champion as (

    select
        -- ids
        explained.person_id as crm_id,
        explained.crm_object,
        explained.account_id,
        explained.owner_id,
        explained.person_key,

        -- strings
        explained.email,
        {{ dbt.concat(['explained.grade_letter', 'explained.engagement_digit']) }} as grade,
        case explained.tier
            when 1 then 'Hot'
            when 2 then 'Warm'
            when 3 then 'Nurture'
            else 'Disqualified'
        end as tier_label,
        explained.score_reasons,
        explained.duplicate_group,
        case
            when explained.model_weight > 0
                then {{ dbt.concat([
                    'model_version.scoring_model_version', "'+'", 'explained.predictive_model_version',
                ]) }}
            else model_version.scoring_model_version
        end as scoring_model_version,

        -- numerics
        explained.fit_score,
        explained.intent_score,
        explained.negative_score,
        explained.composite_score,
        explained.predictive_score,
        explained.conversion_probability,
        explained.tier,
        explained.duplicate_count,

        -- booleans
        explained.is_mql,
        explained.is_sql,
        explained.is_disqualified,
        explained.is_converted,

        -- timestamps
        {{ lead_scoring.as_of() }} as scored_at

    from explained
    cross join model_version

),
{%- set pilot = lead_scoring.pilot_challenger() %}
{%- if pilot %}

assignments as (

    select
        crm_id,
        arm
    from {{ pilot.assignments }}
    where pilot_id = '{{ pilot.pilot_id }}'
        and arm in ('champion', 'challenger')

),

challenger as (

    select * from {{ pilot.scores }}
    where scored_at = {{ lead_scoring.as_of() }}

),

members as (

    select
        assignments.crm_id,
        assignments.arm,
        challenger.composite_score,
        challenger.tier
    from assignments
    inner join challenger
        on assignments.crm_id = challenger.crm_id

),

challenger_arm as (

    select {{ 'challenger.' ~ pilot.columns | join(', challenger.') }}
    from challenger
    inner join members
        on challenger.crm_id = members.crm_id
    where members.arm = 'challenger'

),

champion_arm as (

    select {{ 'champion.' ~ pilot.columns | join(', champion.') }}
    from champion
    left join members
        on champion.crm_id = members.crm_id
    where members.arm is null or members.arm = 'champion'

),

decided as (

    select * from challenger_arm
    union all
    select * from champion_arm

),

final as (

    select
        decided.*,
        case when members.arm is not null then '{{ pilot.pilot_id }}' end as pilot_id,
        members.arm as pilot_arm,
        case when members.arm is not null then champion.composite_score end as champion_composite_score,
        case when members.arm is not null then champion.tier end as champion_tier,
        members.composite_score as challenger_composite_score,
        members.tier as challenger_tier
    from decided
    inner join champion
        on decided.crm_id = champion.crm_id
    left join members
        on decided.crm_id = members.crm_id

)
{%- else %}

final as (

    select
        champion.*,
        cast(null as {{ dbt.type_string() }}) as pilot_id,
        cast(null as {{ dbt.type_string() }}) as pilot_arm,
        cast(null as {{ dbt.type_float() }}) as champion_composite_score,
        cast(null as {{ dbt.type_int() }}) as champion_tier,
        cast(null as {{ dbt.type_float() }}) as challenger_composite_score,
        cast(null as {{ dbt.type_int() }}) as challenger_tier
    from champion

)
{%- endif %}

select * from final
