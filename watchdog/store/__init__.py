"""The state database (SQLite): one module per family of tables, combined into ``Store`` in
:mod:`muni_watchdog.store.database.database`. The only place with SQL; imports only the core."""
