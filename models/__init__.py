"""Storage: SQLAlchemy 2.0 models, the database session, queries, Alembic migrations."""
