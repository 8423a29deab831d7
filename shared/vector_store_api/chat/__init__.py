"""Generation through an OpenAI-compatible Chat Completions endpoint (the Responses API's model)."""
