select status, sum(amount) as revenue from {{ ref('fct_orders') }} group by status
