"""AWS adapters and the Lambda runtime. Imported only on Lambda (and in its tests)."""
