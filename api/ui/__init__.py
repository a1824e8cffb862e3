"""The built-in dashboard (/ui) and the offline API docs (/docs, /redoc): static pages and
vendored assets served by the API itself, no CDN and no build step (docs/architecture.md)."""
