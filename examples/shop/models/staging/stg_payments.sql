-- Reads the landed table through its source; this ref makes dbt build the seed first:
-- depends_on: {{ ref('raw_payments') }}
select
    payment_id,
    order_id,
    payment_method,
    amount_cents / 100.0 as amount
from {{ source('raw', 'raw_payments') }}
