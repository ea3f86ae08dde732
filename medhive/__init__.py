"""MedHive composition root: settings, CLI, server."""
