"""Server extensions: each module defines `mount(app, *, settings, registry)` (API routers, Gradio apps, portal)."""
