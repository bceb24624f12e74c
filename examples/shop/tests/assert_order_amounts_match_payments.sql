-- Singular test with two parents: every order's amount equals the sum of its payments.
select o.order_id
from {{ ref('fct_orders') }} as o
left join (
    select order_id, sum(amount) as paid from {{ ref('stg_payments') }} group by order_id
) as p on p.order_id = o.order_id
where abs(o.amount - coalesce(p.paid, 0)) > 0.001
