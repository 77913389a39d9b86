"""Infrastructure: the database, the report store, migrations, paths, settings, what the platform has."""
