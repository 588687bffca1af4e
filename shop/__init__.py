"""Embedded Medusa-compatible shop: Admin API subset and the seed's /demo callback route."""
