{#- The semantic layer's metric definitions (models/semantic/) compiled to portable SQL, so a
    model reads a KPI from its one definition instead of restating the formula (the
    scorecard's kpi_actuals). A subset of MetricFlow: simple metrics over sum, average,
    min or max measures (semi-additive ones at the period's last or first row), ratio and
    derived metrics (an offset of one period of the grain), no filters; anything else stops
    the compile with a message. Each semantic model is aggregated once per grain (one CTE,
    every measure a column: semantic_model_cte), and a metric is an expression over those
    columns (metric_expression). tests/e2e's semantic-layer test requires the result to
    equal MetricFlow's answers. -#}

{#- The metric named `name` from the parsed graph. -#}
{% macro semantic_metric(name) -%}
    {%- for metric in graph.metrics.values() if metric.name == name -%}
        {{ return(metric) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("semantic layer: no metric named '" ~ name ~ "' (models/semantic/_metrics.yml)") }}
{%- endmacro %}

{#- (semantic model, measure) holding the measure named `name`. -#}
{% macro semantic_measure(name) -%}
    {%- for model in graph.semantic_models.values() -%}
        {%- for measure in model.measures if measure.name == name -%}
            {{ return((model, measure)) }}
        {%- endfor -%}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("semantic layer: no measure named '" ~ name ~ "'") }}
{%- endmacro %}

{#- The start of the `grain` period (month or quarter) of a time value. -#}
{% macro semantic_period(time_expr, grain) -%}
    {%- if grain == 'month' -%}{{ month_start(time_expr) }}
    {%- elif grain == 'quarter' -%}{{ quarter_start(time_expr) }}
    {%- else -%}{{ exceptions.raise_compiler_error("semantic layer: grain '" ~ grain ~ "' (month or quarter)") }}
    {%- endif -%}
{%- endmacro %}

{#- The CTE name of a semantic model's aggregate at a grain. -#}
{% macro semantic_cte_name(model_name, grain) -%}
    sm_{{ model_name }}_{{ grain }}
{%- endmacro %}

{#- One row per `grain` period of the semantic model `model_name`, a column per measure:
    agg(expr) over the period's rows, or, for a semi-additive measure, over the rows at the
    period's last (window_choice max) or first time value only. A model with a
    `meta.period_frame` ({model, column}: a continuous series) has a row for every period
    of that series, its sum measures 0 where the model has no row (a mart that leaves out
    all-zero rows); MetricFlow itself omits such periods. -#}
{% macro semantic_model_cte(model_name, grain) -%}
    {%- set model = graph.semantic_models.values() | selectattr('name', 'equalto', model_name) | first -%}
    {%- set time_dim = model.dimensions | selectattr('name', 'equalto', model.defaults.agg_time_dimension) | first -%}
    {%- set time_expr = time_dim.expr or time_dim.name -%}
    {%- set aggs = {'sum': 'sum', 'average': 'avg', 'max': 'max', 'min': 'min'} -%}
    {%- set frame = ((model.config or {}).get('meta') or {}).get('period_frame') -%}
    {%- set aggregate -%}
    select
        _period as period_start
        {%- for measure in model.measures %}
        {%- if measure.agg not in aggs or (measure.agg_time_dimension and measure.agg_time_dimension != time_dim.name) -%}
            {{ exceptions.raise_compiler_error("semantic layer: measure " ~ measure.name ~ " (agg " ~ measure.agg ~ ") is not compiled") }}
        {%- endif -%}
        {%- set edge = measure.non_additive_dimension %},
        {%- if edge %}
        {{ aggs[measure.agg] }}(case when {{ time_expr }} = {{ '_last' if edge.window_choice == 'max' else '_first' }}
            then {{ measure.expr or measure.name }} end) as {{ measure.name }}
        {%- else %}
        {{ aggs[measure.agg] }}({{ measure.expr or measure.name }}) as {{ measure.name }}
        {%- endif %}
        {%- endfor %}
    from (
        select
            measured.*,
            {{ semantic_period(time_expr, grain) }} as _period,
            max({{ time_expr }}) over (partition by {{ semantic_period(time_expr, grain) }}) as _last,
            min({{ time_expr }}) over (partition by {{ semantic_period(time_expr, grain) }}) as _first
        from {{ ref(model.node_relation.alias) }} as measured
    ) as rows_in_period
    group by _period
    {%- endset -%}
    {%- if frame %}
    select
        frame.period_start
        {%- for measure in model.measures %},
        {% if measure.agg == 'sum' %}coalesce(aggregated.{{ measure.name }}, 0){% else %}aggregated.{{ measure.name }}{% endif %} as {{ measure.name }}
        {%- endfor %}
    from (
        select distinct {{ semantic_period(frame.column, grain) }} as period_start
        from {{ ref(frame.model) }}
    ) as frame
    left join ({{ aggregate }}) as aggregated
        on aggregated.period_start = frame.period_start
    {%- else -%}
    {{ aggregate }}
    {%- endif %}
{%- endmacro %}

{#- {'sql': the metric as an expression over columns sm_<model>.<measure> (and
    sm_<model>_prev.<measure> for an input offset by one period), 'models': the semantic
    models it reads, 'previous': those read one period back}. -#}
{% macro metric_expression(name, prev=false) -%}
    {%- set metric = semantic_metric(name) -%}
    {%- set params = metric.type_params -%}
    {%- set ns = namespace(sql='', models=[], previous=[]) -%}
    {%- if metric.filter -%}
        {{ exceptions.raise_compiler_error("semantic layer: metric " ~ name ~ " has a filter, which is not compiled") }}
    {%- endif -%}
    {%- if metric.type == 'simple' -%}
        {%- set input = params.measure -%}
        {%- if input.filter or input.join_to_timespine or input.fill_nulls_with is not none -%}
            {{ exceptions.raise_compiler_error("semantic layer: measure " ~ input.name ~ ": filters, join_to_timespine and fill_nulls_with are not compiled") }}
        {%- endif -%}
        {%- set found = semantic_measure(input.name) -%}
        {%- if prev -%}{%- set ns.previous = [found[0].name] -%}{%- else -%}{%- set ns.models = [found[0].name] -%}{%- endif -%}
        {%- set ns.sql = 'sm_' ~ found[0].name ~ ('_prev' if prev else '') ~ '.' ~ found[1].name -%}
    {%- elif metric.type in ('ratio', 'derived') -%}
        {%- if metric.type == 'ratio' -%}
            {%- set inputs = [params.numerator, params.denominator] -%}
            {%- set ns.sql = safe_ratio(params.numerator.alias or params.numerator.name,
                                        params.denominator.alias or params.denominator.name) -%}
        {%- else -%}
            {%- set inputs = params.metrics -%}
            {%- set ns.sql = params.expr -%}
        {%- endif -%}
        {#- Names to placeholders first, then placeholders to SQL: an input's SQL may hold
            a column named like a later input. -#}
        {%- for input in inputs -%}
            {%- set ns.sql = modules.re.sub('\\b' ~ (input.alias or input.name) ~ '\\b', '__input_' ~ loop.index0 ~ '__', ns.sql) -%}
        {%- endfor -%}
        {%- for input in inputs -%}
            {%- if input.filter or input.offset_to_grain -%}
                {{ exceptions.raise_compiler_error("semantic layer: input " ~ input.name ~ " of " ~ name ~ ": filters and offset_to_grain are not compiled") }}
            {%- endif -%}
            {%- if input.offset_window and input.offset_window.count != 1 -%}
                {{ exceptions.raise_compiler_error("semantic layer: input " ~ input.name ~ " of " ~ name ~ ": only an offset of one period is compiled") }}
            {%- endif -%}
            {%- set part = metric_expression(input.name, prev or (input.offset_window is not none)) -%}
            {%- set ns.models = ns.models + part.models -%}
            {%- set ns.previous = ns.previous + part.previous -%}
            {%- set ns.sql = ns.sql.replace('__input_' ~ loop.index0 ~ '__', '(' ~ part.sql ~ ')') -%}
        {%- endfor -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error("semantic layer: metric " ~ name ~ " is " ~ metric.type ~ ", which is not compiled") }}
    {%- endif -%}
    {{ return({'sql': ns.sql, 'models': ns.models | unique | list, 'previous': ns.previous | unique | list}) }}
{%- endmacro %}

{#- The periods and offsets an expression reads: the FROM clause joining its semantic
    models' CTEs at `grain` on the period (full outer: a period any of them has), and
    each model read one period back. The period column is `period_start`. -#}
{% macro metric_from(expression, grain) -%}
    {%- set first = expression.models[0] -%}
    {%- set joined = [first] -%}
    from {{ semantic_cte_name(first, grain) }} as sm_{{ first }}
    {%- for model in expression.models[1:] %}
    full outer join {{ semantic_cte_name(model, grain) }} as sm_{{ model }}
        on sm_{{ model }}.period_start = {{ metric_period(joined) }}
    {%- do joined.append(model) -%}
    {%- endfor %}
    {%- for model in expression.previous %}
    left join {{ semantic_cte_name(model, grain) }} as sm_{{ model }}_prev
        on sm_{{ model }}_prev.period_start = {{ add_months(metric_period(joined), -1 if grain == 'month' else -3) }}
    {%- endfor %}
{%- endmacro %}

{#- The period of a row joined from several semantic models' CTEs. -#}
{% macro metric_period(models) -%}
    {%- if models | length == 1 -%}sm_{{ models[0] }}.period_start
    {%- else -%}coalesce({% for m in models %}sm_{{ m }}.period_start{% if not loop.last %}, {% endif %}{% endfor %})
    {%- endif -%}
{%- endmacro %}

{#- The marts a metric reads, comma-separated (its semantic models' tables). -#}
{% macro semantic_marts(name) -%}
    {%- set expression = metric_expression(name) -%}
    {%- set marts = [] -%}
    {%- for model_name in expression.models + expression.previous -%}
        {%- set model = graph.semantic_models.values() | selectattr('name', 'equalto', model_name) | first -%}
        {%- do marts.append(model.node_relation.alias) -%}
    {%- endfor -%}
    {{ return(marts | unique | sort | join(', ')) }}
{%- endmacro %}
