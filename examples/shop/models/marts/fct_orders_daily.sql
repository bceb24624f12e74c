{#- Daily partitions: `--vars '{"partition": "2024-01-02"}'` (re)builds one day only. -#}
{{ config(materialized='incremental', unique_key='order_date', incremental_strategy='delete+insert') }}
{% set partition = var('partition', none) %}
select
    order_date,
    count(*) as orders,
    sum(amount) as revenue,
    cast('{{ partition if partition else "all" }}' as varchar(32)) as loaded_partition
from {{ ref('fct_orders') }}
{% if partition %}
where order_date = cast('{{ partition }}' as date)
{% endif %}
group by order_date
