"""``python -m tropism`` runs the command line."""

from tropism.cli import app

app(prog_name="tropism")
