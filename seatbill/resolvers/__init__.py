"""Thin resolvers: check the viewer, call a service, map the result."""
