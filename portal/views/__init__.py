"""Thin blueprints of the owner portal."""
