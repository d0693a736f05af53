"""Incidents: detection engine, lifecycle, evidence, API."""
