"""The versioned JSON API (/api/v1): tokens, schemas, OpenAPI; the same services as the pages."""
