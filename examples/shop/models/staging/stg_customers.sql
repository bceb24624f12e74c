select
    customer_id,
    first_name,
    last_name,
    first_name || ' ' || last_name as full_name,
    updated_at
from {{ ref('raw_customers') }}
