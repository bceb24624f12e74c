{#- Plays the application that writes `app.events` (the `app.events` source). Idempotent. -#}
{% macro create_app_events() %}
create schema if not exists app;
create table if not exists app.events (
    event_id integer,
    customer_id integer,
    event_type varchar(32),
    occurred_at timestamp
);
delete from app.events;
insert into app.events values
    (1, 1, 'signup', '2024-01-01 09:00:00'),
    (2, 1, 'checkout', '2024-01-01 09:30:00'),
    (3, 2, 'signup', '2024-01-02 10:00:00'),
    (4, 3, 'signup', '2024-01-03 11:00:00'),
    (5, 3, 'checkout', '2024-01-03 11:45:00');
{% endmacro %}
