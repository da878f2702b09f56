# Convenience aliases for the scripts (on a fresh Debian 12 the scripts need only sh).
.PHONY: setup demo test lint
setup:
	sh scripts/setup.sh
demo:
	sh scripts/demo.sh
test:
	sh scripts/test.sh
lint: setup
	.venv/bin/ruff check .
	.venv/bin/python scripts/lint_imports.py
