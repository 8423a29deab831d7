"""Self-hosted, OpenAI-compatible Files + Vector Stores API."""
