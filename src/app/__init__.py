"""Corridor: a phone-first pastoral app for UK schools."""
