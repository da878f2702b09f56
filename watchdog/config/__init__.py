"""The configuration: one YAML file read, bounded and validated into a frozen ``Config`` that
assembles the typed parameters of every check, backup and channel; errors name file, line and
path. Above the kinds of work (it holds their parameter models), below everything that runs."""
