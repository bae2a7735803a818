"""Artifacts the evaluator logs: group table (CSV/JSON), charts (PNG) and the HTML report."""
