"""Tests of the assistant package: retrieval, backends, tools, safety and the surfaces."""
