"""The alert loop: recorded state changes become incidents; suppression (parents, maintenance,
accepted risks, flapping), grouping, escalation and reminders decide who is told what; messages
go into the outbox, and delivery sends them. Composed in :mod:`muni_watchdog.alerting.processor.processor`."""
