-- Singular test with one parent: payments are never negative.
select * from {{ ref('stg_payments') }} where amount < 0
