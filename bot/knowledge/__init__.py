"""The knowledge base: schema, loading and validation, provenance against the source report."""
