"""Instruments published in the browser: upload a YAML version as a draft, see the
validator's messages, preview it, compare it with the active version, publish it."""
