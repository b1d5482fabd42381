"""The HTTP API: FastAPI routers, authentication, RFC 9457 problem+json errors."""
