select
    c.customer_id,
    c.full_name,
    count(o.order_id) as orders
from {{ ref('stg_customers') }} as c
left join {{ ref('fct_orders') }} as o on o.customer_id = c.customer_id
group by c.customer_id, c.full_name
