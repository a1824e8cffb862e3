"""Pydantic request/response models of the API, one module per resource."""
