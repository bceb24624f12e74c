"""The ``lockgate`` command line and the incremental migration off Airflow task DAGs."""
