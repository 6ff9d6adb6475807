"""`archsearch browse`, the interactive terminal browser: session.py computes, app.py draws (Textual)."""
