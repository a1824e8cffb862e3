"""HTTP API: the ingest shim (POST /inference → Kafka) and the query endpoints over PostgreSQL.

Layout (after fastapi/full-stack-fastapi-template): ``main`` wires the app, ``deps`` holds typed
dependencies, ``routes/`` has one router per resource, ``core/`` the settings, pools, producer,
metrics and errors, ``queries`` every SQL statement, ``schemas/`` the response models.
"""
