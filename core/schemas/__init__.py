"""Request and response models of the HTTP API (pydantic), shared by handlers and the OpenAPI schema."""
