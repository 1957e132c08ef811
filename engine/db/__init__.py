"""
Postgres access: the connection pool, the migrations runner and the embedded
fallback server used when no ``OUTDIAL_DATABASE_URL`` is set.
"""
