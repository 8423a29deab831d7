"""One module per route group. These modules and api/deps.py keep their annotations evaluated (no
`from __future__ import annotations`): FastAPI evaluates each string annotation of each dependency
again for every route it builds, ~3 ms of a handler's cold start."""
