{#- `--vars '{"shop_fail": true}'` makes this model fail, to show failures end to end. -#}
{% if execute and var('shop_fail', false) %}
    {{ exceptions.raise_compiler_error("fct_orders was told to fail (var shop_fail is true)") }}
{% endif %}
select
    o.order_id,
    o.customer_id,
    o.order_date,
    o.status,
    coalesce(p.amount, 0) as amount
from {{ ref('stg_orders') }} as o
left join {{ ref('int_order_payments') }} as p on p.order_id = o.order_id
