"""The command line: parses, calls, prints; one module per command group. Imported by nothing."""
