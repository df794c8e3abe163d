"""The API's request and response bodies, each with an example for the OpenAPI document."""
