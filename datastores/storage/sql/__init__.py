"""The database storage types: Azure SQL Database (azure_sql.py), Azure Database for
PostgreSQL (postgres.py) and for MySQL (mysql.py), on what base.py gives them all."""
