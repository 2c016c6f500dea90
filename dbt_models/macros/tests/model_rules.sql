{#- `model_rules`: every rule of one model that looks at that model alone, in ONE dbt test.

    dbt's fixed cost per test node (compiling it, its transaction, its events: ~50 ms of
    Python under one lock for both threads) is far above what these checks cost DuckDB, so
    one node per rule made the machinery the larger part of a build. Here a model's rules
    share one node and one query: the row rules are counted in one scan, each key, series
    or group rule adds one aggregate. The test returns one row per broken rule,
    `failing_rule` (its name) and `failures` (its count: rows, or keys held by more than
    one row, gaps, groups; see each kind), and fails (or warns, with severity warn) when it
    returns a row; dbt's failure count is the sum of `failures`.

    `rules`: a list, each one of these kinds (an optional `name` labels the rule in the
    result; by default the kind and its columns):
      {not_null: [columns]}                  rows where the column is NULL (a result row per column)
      {unique: [columns]}                    keys held by more than one row; one column: NULL is
                                             not a key (as dbt's unique); several: NULL is a value
      {between: [{column, min_value, max_value}]}
                                             rows outside the inclusive bounds, NULL passes (a
                                             result row per column; a missing bound is not checked)
      {accepted_values: {column, values}}    rows whose value is not one of `values`, NULL passes
      {positive: column}                     rows where column <= 0, NULL passes
      {expression: sql, null_fails: false}   rows where the boolean expression is false (NULL
                                             passes unless null_fails)
      {continuous: {column, datepart, partition_by}}
                                             rows of the DATE series (day, week, month starts) whose
                                             previous period (per partition) is not one period before
      {shares_sum_to_one: {column, group_by}}
                                             groups whose non-NULL shares do not add up to 1 (1e-9)
      {mrr_bridge_reconciles: true}          rows of a monthly MRR bridge that do not reconcile to
                                             the cent (macro mrr_bridge_broken)
    Rules that read another model (series ending at the as-of date, sums to another mart,
    relationships) stay tests of their own, as do singular tests.

    `slice_by` (a DATE column of a model built incrementally by day, macros/incremental.sql):
    on a run that rebuilt a slice of days, and when the pipeline says the rules ran and
    passed at the last successful build (`checks_on_slice`), the rules look at
    what the run could have changed only: row rules count the slice's rows; a key rule
    counts the keys held more than once among the slice's rows (a key that contains
    `slice_by`: a key cannot span days) or held more than once in the table by a slice row
    (one column); other rules read the whole table. The rows outside the slice are the
    ones that passed, unchanged, so the failures counted are the table's. -#}
{% test model_rules(model, rules, slice_by=none) %}
    {{ config(fail_calc='coalesce(sum(failures), 0)') }}
    {{ model_rules_query(model, rules, slice_by) }}
{% endtest %}

{#- The query of a `model_rules` test: one row (failing_rule, failures) per broken rule. The
    test above runs it as a dbt test node; `assert_model_rules` runs it in the model's own
    pass. -#}
{% macro model_rules_query(model, rules, slice_by=none) %}
    {%- set sliced = slice_by is not none and checks_on_slice() -%}
    {%- set slice_rows = '(select * from ' ~ model ~ ' where ' ~ slice_days_predicate(slice_by) ~ ') as slice_rows' if sliced else none -%}
    {%- set row_checks = [] -%}
    {%- set aggregates = [] -%}
    {%- for rule in rules -%}
        {%- set kinds = [] -%}
        {%- for key in rule.keys() if key not in ('name', 'null_fails') -%}
            {%- do kinds.append(key) -%}
        {%- endfor -%}
        {%- if kinds | length != 1 -%}
            {{ exceptions.raise_compiler_error("model_rules on " ~ model ~ ": each rule needs exactly one kind (not_null, unique, between, accepted_values, positive, expression, continuous, shares_sum_to_one, mrr_bridge_reconciles); got " ~ rule) }}
        {%- endif -%}
        {%- set kind = kinds[0] -%}
        {%- set spec = rule[kind] -%}
        {%- if kind == 'not_null' -%}
            {%- for column in spec -%}
                {%- do row_checks.append((rule.get('name') or 'not_null(' ~ column ~ ')', column ~ ' is null')) -%}
            {%- endfor -%}
        {%- elif kind == 'between' -%}
            {%- for bound in spec -%}
                {%- set outside = [] -%}
                {%- if bound.min_value is defined and bound.min_value is not none -%}
                    {%- do outside.append(bound.column ~ ' < ' ~ bound.min_value) -%}
                {%- endif -%}
                {%- if bound.max_value is defined and bound.max_value is not none -%}
                    {%- do outside.append(bound.column ~ ' > ' ~ bound.max_value) -%}
                {%- endif -%}
                {%- if bound.column is not defined or not outside -%}
                    {{ exceptions.raise_compiler_error("model_rules on " ~ model ~ ": each between range needs a column and a min_value or max_value; got " ~ bound) }}
                {%- endif -%}
                {%- do row_checks.append((rule.get('name') or 'between(' ~ bound.column ~ ')',
                    bound.column ~ ' is not null and (' ~ (outside | join(' or ')) ~ ')')) -%}
            {%- endfor -%}
        {%- elif kind == 'accepted_values' -%}
            {%- set listed = [] -%}
            {%- for value in spec['values'] -%}
                {%- do listed.append("'" ~ (value | string | replace("'", "''")) ~ "'") -%}
            {%- endfor -%}
            {%- do row_checks.append((rule.get('name') or 'accepted_values(' ~ spec.column ~ ')',
                spec.column ~ ' is not null and ' ~ spec.column ~ ' not in (' ~ (listed | join(', ')) ~ ')')) -%}
        {%- elif kind == 'positive' -%}
            {%- do row_checks.append((rule.get('name') or 'positive(' ~ spec ~ ')', spec ~ ' <= 0')) -%}
        {%- elif kind == 'expression' -%}
            {%- set condition = ('not coalesce(' ~ spec ~ ', false)') if rule.get('null_fails') else ('not (' ~ spec ~ ')') -%}
            {%- do row_checks.append((rule.get('name') or 'expression: ' ~ (spec | trim), condition)) -%}
        {%- elif kind == 'mrr_bridge_reconciles' -%}
            {%- do row_checks.append((rule.get('name') or 'mrr_bridge_reconciles', mrr_bridge_broken())) -%}
        {%- elif kind == 'unique' -%}
            {%- set columns = spec | join(', ') -%}
            {%- set keys_sql -%}
                {%- if sliced and slice_by in spec %}
                select {{ columns }} from {{ slice_rows }}
                {% if spec | length == 1 %}where {{ spec[0] }} is not null{% endif %}
                {%- elif sliced and spec | length == 1 %}
                select {{ columns }} from {{ model }}
                where {{ spec[0] }} in (
                    select {{ spec[0] }} from {{ slice_rows }} where {{ spec[0] }} is not null
                )
                {%- else %}
                select {{ columns }} from {{ model }}
                {% if spec | length == 1 %}where {{ spec[0] }} is not null{% endif %}
                {%- endif %}
                group by {{ columns }}
                having count(*) > 1
            {%- endset -%}
            {%- do aggregates.append((rule.get('name') or 'unique(' ~ columns ~ ')', keys_sql)) -%}
        {%- elif kind == 'continuous' -%}
            {%- do aggregates.append((rule.get('name') or 'continuous(' ~ spec.column ~ ')',
                continuous_period_gaps(model, spec.column, spec.datepart, spec.get('partition_by', [])))) -%}
        {%- elif kind == 'shares_sum_to_one' -%}
            {%- set group_by = spec.get('group_by', []) -%}
            {%- set groups_sql -%}
                select sum({{ spec.column }}) as total_share
                from {{ model }}
                {% if group_by %}group by {{ group_by | join(', ') }}{% endif %}
                having count({{ spec.column }}) > 0
                    and abs(sum({{ spec.column }}) - 1) > 1e-9
            {%- endset -%}
            {%- do aggregates.append((rule.get('name') or 'shares_sum_to_one(' ~ spec.column ~ ')', groups_sql)) -%}
        {%- else -%}
            {{ exceptions.raise_compiler_error("model_rules on " ~ model ~ ": unknown rule kind " ~ kind) }}
        {%- endif -%}
    {%- endfor -%}
    with
    {% if row_checks %}
    row_counts as (
        select
            {%- for label, condition in row_checks %}
            count(case when {{ condition }} then 1 end) as failures_{{ loop.index }}{{ ',' if not loop.last }}
            {%- endfor %}
        from {{ slice_rows if sliced else model }}
    ),
    {% endif %}
    {%- for label, sql in aggregates %}
    aggregate_{{ loop.index }} as (
        select count(*) as failures from ({{ sql }}) as failing
    ),
    {%- endfor %}
    per_rule as (
        {%- for label, condition in row_checks %}
        select '{{ label | replace("'", "''") }}' as failing_rule, failures_{{ loop.index }} as failures from row_counts
        {{- '\n        union all' if not loop.last or aggregates }}
        {%- endfor %}
        {%- for label, sql in aggregates %}
        select '{{ label | replace("'", "''") }}' as failing_rule, failures from aggregate_{{ loop.index }}
        {{- '\n        union all' if not loop.last }}
        {%- endfor %}
    )
    select failing_rule, failures from per_rule where failures > 0
{% endmacro %}

{#- Rows of the DATE series `column` (starts of `datepart` periods: day, week, month) whose
    previous period in the series (per `partition_by`) is not exactly one period before. -#}
{% macro continuous_period_gaps(model, column, datepart, partition_by=[]) -%}
    {%- set partition = partition_by | join(', ') -%}
    select period_start
    from (
        select
            {{ column }} as period_start,
            lag({{ column }}) over (
                {% if partition %}partition by {{ partition }}{% endif %} order by {{ column }}
            ) as previous_period_start
        from {{ model }}
    ) as ordered
    where previous_period_start is not null
        and period_start <> {% if datepart == 'day' -%}
            {{ add_days('previous_period_start', 1) }}
        {%- elif datepart == 'week' -%}
            {{ add_days('previous_period_start', 7) }}
        {%- elif datepart == 'month' -%}
            {{ add_months('previous_period_start', 1) }}
        {%- else -%}
            cast({{ dbt.dateadd(datepart, 1, 'previous_period_start') }} as date)
        {%- endif %}
{%- endmacro %}

{#- Post-hook of every model (dbt_project.yml), run after the model's table is committed:
    its `model_rules` tests, in the model's own pass.

    A test node costs dbt ~30-50 ms of Python under one lock for both threads (its compiled
    context, its transaction, its events) whatever the query costs DuckDB, and the project
    has a `model_rules` test on nearly every model. When the pipeline asks for it
    (DBT_RULES_IN_MODEL=1, read at run time only; dagster_project/defs/transform/assets.py,
    which then excludes those test nodes from the build), each `model_rules` test attached to
    the model runs its query here instead: the same query, the same severity. Each test's
    outcome is one row of `checks.model_rule_results` (the pipeline creates it empty before
    dbt starts and reports each row as the test's Dagster check); a failed test of severity
    error then fails the model's node, so dbt skips everything downstream of it, as it does
    after a failed test, and the table it checked stays as built, for a look. Without the
    variable (a bare `dbt build`, Spark) this renders nothing and the tests run as tests. -#}
{% macro assert_model_rules() %}
    {%- if not execute or run_param('rules_in_model') != '1' -%}
        {{ return('') }}
    {%- endif -%}
    {%- set blocking = [] -%}
    {%- for node in graph.nodes.values()
            if node.resource_type == 'test' and node.get('attached_node') == model.unique_id
            and (node.get('test_metadata') or {}).get('name') == 'model_rules' -%}
        {%- set kwargs = node.test_metadata.kwargs -%}
        {%- set severity = (node.config.severity or 'error') | lower -%}
        {%- set outcome = record_model_rules(
                model_rules_query(this, kwargs.rules, kwargs.get('slice_by')),
                node.unique_id, node.name, model.unique_id, severity) -%}
        {%- if outcome[0] == 'fail' -%}
            {%- do blocking.append(node.name ~ ': ' ~ (outcome[1] | int) ~ ' failing [failing rules: '
                    ~ outcome[2] ~ ']') -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if blocking -%}
        {{ exceptions.raise_compiler_error('model rules failed: ' ~ blocking | join('; ')) }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}

{#- Run one rules test's query (`rules_sql`), record its outcome in
    checks.model_rule_results and return it (status, failures, failing_rules). -#}
{% macro record_model_rules(rules_sql, test_id, test_name, model_id, severity) -%}
    {{ return(adapter.dispatch('record_model_rules', 'product_metrics')(
        rules_sql, test_id, test_name, model_id, severity)) }}
{%- endmacro %}

{#- DuckDB: one statement (insert ... returning). -#}
{% macro duckdb__record_model_rules(rules_sql, test_id, test_name, model_id, severity) -%}
    {%- set recorded = run_query(model_rules_outcome_insert(
            rules_sql, test_id, test_name, model_id, severity) ~ ' returning status, failures, failing_rules') -%}
    {{ return(recorded.rows[0]) }}
{%- endmacro %}

{% macro default__record_model_rules(rules_sql, test_id, test_name, model_id, severity) -%}
    {%- do run_query(model_rules_outcome_insert(rules_sql, test_id, test_name, model_id, severity)) -%}
    {%- set recorded = run_query("select status, failures, failing_rules from checks.model_rule_results where test_id = "
            ~ sql_literal(test_id)) -%}
    {{ return(recorded.rows[-1]) }}
{%- endmacro %}

{% macro model_rules_outcome_insert(rules_sql, test_id, test_name, model_id, severity) -%}
    {%- set failing_status = 'warn' if severity == 'warn' else 'fail' -%}
    insert into checks.model_rule_results
        (test_id, test_name, model_id, severity, status, failures, failing_rules)
    select
        {{ sql_literal(test_id) }}, {{ sql_literal(test_name) }}, {{ sql_literal(model_id) }},
        {{ sql_literal(severity) }},
        case when coalesce(sum(failures), 0) > 0 then '{{ failing_status }}' else 'pass' end,
        coalesce(sum(failures), 0),
        coalesce({{ dbt.listagg("failing_rule || ' (' || cast(failures as " ~ dbt.type_string() ~ ") || ')'",
                                "', '", "order by failing_rule") }}, '')
    from ({{ rules_sql }}) as failing
{%- endmacro %}
