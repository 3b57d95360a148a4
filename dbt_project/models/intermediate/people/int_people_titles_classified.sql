{#- Title seniority and function from seeds/title_patterns.csv (lowest priority wins). -#}
with

people as (

    select * from {{ ref('int_people_unified') }}
    {{ lead_scoring.fast_lane_scope('person_id', 'context') }}

),

title_patterns as (

    select * from {{ ref('title_patterns') }}

),

normalized_titles as (

    -- normalised once per person, not once per person and pattern in the join below
    select
        person_id,
        lower(trim(title)) as normalized_title
    from people
    where title is not null

),

distinct_titles as (

    -- titles repeat across people: each is matched against the patterns once
    select distinct normalized_title
    from normalized_titles

),

title_matches as (

    select
        distinct_titles.normalized_title,
        title_patterns.dimension,
        title_patterns.derived_value,
        row_number() over (
            partition by distinct_titles.normalized_title, title_patterns.dimension
            order by title_patterns.priority, title_patterns.derived_value
        ) as match_rank
    from distinct_titles
    inner join title_patterns
        on distinct_titles.normalized_title like title_patterns.pattern

),

best_title_matches as (

    select
        normalized_title,
        max(case when dimension = 'title_seniority' then derived_value end) as title_seniority,
        max(case when dimension = 'title_function' then derived_value end) as title_function
    from title_matches
    where match_rank = 1
    group by normalized_title

),

best_matches as (

    select
        normalized_titles.person_id,
        best_title_matches.title_seniority,
        best_title_matches.title_function
    from normalized_titles
    inner join best_title_matches
        on normalized_titles.normalized_title = best_title_matches.normalized_title

),

final as (

    select
        people.*,
        best_matches.title_seniority,
        best_matches.title_function
    from people
    left join best_matches
        on people.person_id = best_matches.person_id

)

select * from final
