"""Tests of the federation package: node data, privacy, aggregation, gate, Deployment-Engine runs."""
