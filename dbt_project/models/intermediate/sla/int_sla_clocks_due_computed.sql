{#- Every SLA clock of int_sla_clocks_started with its due time (sla_due_at). Around the
    clock: start + response_minutes. Business hours only (the policy's business_hours_only
    and the owner has business hours): the minutes are counted inside [open_hour, close_hour)
    local time on work days (fixed UTC offset), over at most var('sla_business_days_horizon')
    days, in epoch seconds (exact on every engine); a clock with no due time inside the
    horizon is left out. -#}
{%- set horizon = var('sla_business_days_horizon', 21) -%}
with

clocks as (

    select * from {{ ref('int_sla_clocks_started') }}

),

clock_days as (

    {{ dbt.generate_series(horizon) }}

),

business_clocks as (

    select
        crm_id,
        sla_started_at,
        cast(response_minutes as {{ dbt.type_float() }}) * 60 as needed_seconds,
        {{ lead_scoring.epoch_seconds('sla_started_at') }} + utc_offset_minutes * 60 as local_start_seconds,
        open_hour,
        close_hour,
        work_days
    from clocks
    where coalesce(business_hours_only, false)
        and utc_offset_minutes is not null

),

business_windows as (

    select
        business_clocks.crm_id,
        business_clocks.sla_started_at,
        business_clocks.needed_seconds,
        business_clocks.local_start_seconds,
        business_clocks.work_days,
        clock_days.generated_number as day_number,
        greatest(
            {{ lead_scoring.local_day_seconds(
                'business_clocks.local_start_seconds', 'clock_days.generated_number', 'business_clocks.open_hour',
            ) }},
            business_clocks.local_start_seconds
        ) as window_open_seconds,
        {{ lead_scoring.local_day_seconds(
            'business_clocks.local_start_seconds', 'clock_days.generated_number', 'business_clocks.close_hour',
        ) }} as window_close_seconds,
        {{ lead_scoring.local_iso_weekday('business_clocks.local_start_seconds', 'clock_days.generated_number') }}
            as iso_weekday
    from business_clocks
    cross join clock_days

),

business_windows_open as (

    select
        business_windows.*,
        case
            when {{ lead_scoring.list_contains(
                    'business_windows.work_days',
                    "cast(business_windows.iso_weekday as " ~ dbt.type_string() ~ ")",
                ) }}
                then greatest(business_windows.window_close_seconds - business_windows.window_open_seconds, 0)
            else 0
        end as open_seconds
    from business_windows

),

business_windows_cumulative as (

    select
        business_windows_open.*,
        sum(business_windows_open.open_seconds) over (
            partition by business_windows_open.crm_id
            order by business_windows_open.day_number
            rows between unbounded preceding and current row
        ) as cumulative_open_seconds
    from business_windows_open

),

business_due_ranked as (

    select
        crm_id,
        sla_started_at,
        window_open_seconds + needed_seconds - (cumulative_open_seconds - open_seconds)
        - local_start_seconds as seconds_to_due,
        row_number() over (partition by crm_id order by day_number) as due_rank
    from business_windows_cumulative
    where cumulative_open_seconds >= needed_seconds
        and open_seconds > 0

),

due_times as (

    select
        crm_id,
        {{ dbt.dateadd('minute', 'response_minutes', 'sla_started_at') }} as sla_due_at
    from clocks
    where not coalesce(business_hours_only, false)
        or utc_offset_minutes is null
    union all
    select
        crm_id,
        {{ dbt.dateadd('second', 'cast(seconds_to_due as ' ~ dbt.type_bigint() ~ ')', 'sla_started_at') }} as sla_due_at
    from business_due_ranked
    where due_rank = 1

),

final as (

    select
        clocks.*,
        due_times.sla_due_at
    from clocks
    inner join due_times
        on clocks.crm_id = due_times.crm_id

)

select * from final
