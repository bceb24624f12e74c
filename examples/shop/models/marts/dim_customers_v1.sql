select customer_id, full_name
from {{ ref('stg_customers') }}
