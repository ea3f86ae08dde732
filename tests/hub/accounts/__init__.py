"""Tests of issue 5 (accounts, metered API, Supabase schema)."""
